"""The NumPy-level API (no torch): registry, metadata, init_state, steps
against the formula in double, every ISA with the same bits, and bad input
refused with nothing written."""
import numpy as np
import pytest

import optkern


def test_registry_and_metadata():
    pairs = optkern.kernels()
    assert ("adam", "f32") in pairs and ("sgd", "bf16") in pairs
    for name, dtype in pairs:
        k = optkern.find(name, dtype)
        assert k.name == name and k.dtype == dtype
        assert set(k.hparam_defaults) == set(k.hparam_names)
        assert k.state_dtype == (np.float64 if dtype == "f64" else np.float32)
    k = optkern.find("adam", np.float64)
    assert k.hparam_names == ("lr", "beta1", "beta2", "eps") and k.state_names == ("m", "v")
    assert k.hparam_defaults == {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7}
    assert optkern.find("adam", "float32") is optkern.find("adam", "f32")
    with pytest.raises(KeyError, match="no kernel 'nosuch'"):
        optkern.find("nosuch", "f32")
    with pytest.raises(ValueError, match="unknown storage type"):
        optkern.find("adam", "int8")


def test_isa_and_threads():
    assert optkern.active_isa() in optkern.isa_names
    assert optkern.isa_available("scalar") and optkern.isa_available(optkern.active_isa())
    with pytest.raises(ValueError):
        optkern.isa_available("mmx")
    try:
        optkern.set_num_threads(3)
        assert optkern.get_num_threads() == 3
        with pytest.raises(ValueError):
            optkern.set_num_threads(-1)
    finally:
        optkern.set_num_threads(None)
    assert optkern.get_num_threads() >= 1


def test_adam_f64_against_formula():
    """The Keras flavour's Adam (README's table), in double."""
    rng = np.random.default_rng(0)
    k = optkern.find("adam", "f64")
    w = rng.standard_normal(101)
    state = k.init_state(w)
    assert all(np.all(s == 0) for s in state)
    ref_w, m, v = w.copy(), np.zeros_like(w), np.zeros_like(w)
    lr, b1, b2, eps = 0.01, 0.8, 0.99, 1e-6
    for t in range(1, 13):
        g = rng.standard_normal(101)
        k.step(w, g, state, t, lr=lr, beta1=b1, beta2=b2, eps=eps)
        alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m += (g - m) * (1 - b1)
        v += (g * g - v) * (1 - b2)
        ref_w -= alpha * m / (np.sqrt(v) + eps)
        assert np.max(np.abs(w - ref_w)) <= 1e-12 * np.max(np.abs(ref_w))
    assert np.max(np.abs(state[0] - m)) <= 1e-12 * np.max(np.abs(m))


def test_init_state_uses_hparams():
    k = optkern.find("adagrad", "f32")
    (acc,) = k.init_state((3, 4), initial_accumulator_value=0.25)
    assert acc.shape == (3, 4) and acc.dtype == np.float32 and np.all(acc == 0.25)


@pytest.mark.parametrize("dtype", ["f32", "f64", "bf16", "f16"])
def test_every_isa_same_bits(dtype):
    rng = np.random.default_rng(1)
    n = 1000 + 37
    for name in sorted({n_ for n_, _ in optkern.kernels()}):
        k = optkern.find(name, dtype)
        if dtype == "f32":
            w0, g = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
        elif dtype == "f64":
            w0, g = rng.standard_normal(n), rng.standard_normal(n)
        elif dtype == "f16":
            w0, g = rng.standard_normal(n).astype(np.float16), rng.standard_normal(n).astype(np.float16)
        else:  # bf16 as raw bits: the high halves of float32 values
            w0 = (rng.standard_normal(n).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
            g = (rng.standard_normal(n).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
        results = []
        for isa in optkern.isa_names:
            if not optkern.isa_available(isa):
                continue
            w, st = w0.copy(), k.init_state(w0)
            for t in range(1, 4):
                k.step(w, g, st, t, isa=isa)
            results.append((isa, w.tobytes(), [s.tobytes() for s in st]))
        for isa, wb, sb in results[1:]:
            assert wb == results[0][1] and sb == results[0][2], "%s %s: %s differs from %s" % (
                name, dtype, isa, results[0][0])


def test_f16_as_float16_or_raw():
    k = optkern.find("sgd", "f16")
    a = np.ones(8, np.float16)
    b = a.view(np.uint16).copy()
    g = np.full(8, 0.5, np.float16)
    k.step(a, g, [], 1, lr=0.5)
    k.step(b, g.view(np.uint16), [], 1, lr=0.5)
    assert np.all(a == 0.75) and np.array_equal(a.view(np.uint16), b)


def test_bad_input_writes_nothing():
    k = optkern.find("adam", "f32")
    w = np.ones(10, np.float32)
    g = np.ones(10, np.float32)
    st = k.init_state(w)

    def untouched():
        return np.all(w == 1) and all(np.all(s == 0) for s in st)
    with pytest.raises(TypeError, match="dtype float64"):
        k.step(w, g.astype(np.float64), st, 1)
    with pytest.raises(ValueError, match="10 elements|has 5 elements"):
        k.step(w, g[:5], st, 1)
    with pytest.raises(ValueError, match="not C-contiguous"):
        k.step(w, np.ones(20, np.float32)[::2], st, 1)
    with pytest.raises(ValueError, match="takes 2 state arrays"):
        k.step(w, g, st[:1], 1)
    with pytest.raises(TypeError, match="state 'v'"):
        k.step(w, g, [st[0], st[1].astype(np.float64)], 1)
    with pytest.raises(TypeError, match="no hyperparameter 'momentum'"):
        k.step(w, g, st, 1, momentum=0.9)
    with pytest.raises(ValueError, match="refused"):
        k.step(w, g, st, 1, beta1=1.5)
    with pytest.raises(ValueError, match="refused"):
        k.step(w, g, st, 1, lr=float("nan"))
    with pytest.raises(ValueError, match="refused"):
        k.step(w, g, st, 0)
    with pytest.raises(TypeError, match="integer step"):
        k.step(w, g, st, 1.5)
    with pytest.raises(ValueError, match="unknown ISA"):
        k.step(w, g, st, 1, isa="mmx")
    with pytest.raises(TypeError, match="NumPy array"):
        k.step(list(w), g, st, 1)
    ro = w.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        k.step(ro, g, st, 1)
    assert untouched()
    k.step(w, g, st, 1)
    assert not untouched()
