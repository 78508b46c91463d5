"""optkern.torch beyond the trajectories: storage types, non-contiguous
parameters, bad input (refused before anything is written), constructor
errors as torch's, and the thread count."""
import pytest

torch = pytest.importorskip("torch")  # Debian's python3-torch; scripts/install-deps python

import optkern
import optkern.torch as ot
from conftest import need_kernels

CLASSES = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adadelta"]
KERNELS = ["torch_sgd_momentum", "torch_adagrad", "torch_rmsprop", "torch_adam", "torch_adamw", "torch_adamax",
           "torch_nadam", "torch_radam", "torch_adadelta"]
OPTS = {"SGD": dict(lr=0.05, momentum=0.9)}


def make(cls, params, **kw):
    return getattr(ot, cls)(params, **dict(OPTS.get(cls, {}), **kw))


def grads(shapes, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g).to(dtype) for s in shapes]


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("cls", CLASSES)
def test_16bit_is_float32_rounded(cls, dtype):
    """A bfloat16/float16 step is the float32 step on the widened values,
    rounded to nearest even; the state is float32 and identical."""
    need_kernels(*KERNELS)
    shapes = [(7, 5), (37,), (1,)]
    g0 = torch.Generator().manual_seed(3)
    p16 = [torch.nn.Parameter((torch.randn(s, generator=g0) * 2).to(dtype)) for s in shapes]
    p32 = [torch.nn.Parameter(p.detach().float()) for p in p16]
    o16, o32 = make(cls, p16), make(cls, p32)
    for step in range(6):
        for a, b, g in zip(p16, p32, grads(shapes, dtype, step)):
            a.grad, b.grad = g, g.float()
        o16.step()
        o32.step()
        with torch.no_grad():
            for b in p32:
                b.copy_(b.to(dtype).float())
        for a, b in zip(p16, p32):
            assert a.dtype == dtype
            assert torch.equal(a.float(), b), "%s %s step %d" % (cls, dtype, step)
    for a, b in zip(p16, p32):
        for name, v in o16.state[a].items():
            if isinstance(v, torch.Tensor) and v.dim() > 0:
                assert v.dtype == torch.float32
                assert torch.equal(v, o32.state[b][name]), name


@pytest.mark.parametrize("cls", CLASSES)
def test_non_contiguous_parameter(cls):
    """A transposed parameter (and gradient) steps through a contiguous copy
    written back: the same bits as a contiguous twin."""
    need_kernels(*KERNELS)
    base = torch.randn(6, 9)
    p = torch.nn.Parameter(base.t())  # a non-contiguous leaf
    q = torch.nn.Parameter(base.t().contiguous())
    assert not p.is_contiguous()
    o1, o2 = make(cls, [p]), make(cls, [q])
    for step in range(5):
        g = torch.randn(6, 9)
        p.grad, q.grad = g.t(), g.t().contiguous()
        o1.step()
        o2.step()
        assert not p.is_contiguous()
        assert torch.equal(p, q)


def test_mixed_dtypes_in_one_group():
    need_kernels("torch_adamw")
    ps = [torch.nn.Parameter(torch.randn(10, dtype=d)) for d in (torch.float32, torch.float64, torch.bfloat16)]
    refs = [torch.nn.Parameter(p.detach().clone()) for p in ps]
    opt = ot.AdamW(ps, lr=0.01)
    ropts = [ot.AdamW([r], lr=0.01) for r in refs]
    for _ in range(3):
        for p, r in zip(ps, refs):
            p.grad = torch.randn(10, dtype=p.dtype)
            r.grad = p.grad.clone()
        opt.step()
        for o in ropts:
            o.step()
    assert all(torch.equal(p, r) for p, r in zip(ps, refs))


def test_zero_grad_and_skipping():
    need_kernels("torch_adam")
    a, b = torch.nn.Parameter(torch.randn(4)), torch.nn.Parameter(torch.randn(4))
    opt = ot.Adam([a, b], lr=0.1)
    a.grad = torch.ones(4)
    b_before = b.detach().clone()
    opt.step()
    assert b not in opt.state and torch.equal(b, b_before)
    opt.zero_grad()
    assert torch.equal(a.grad, torch.zeros(4)) or a.grad is None
    opt.zero_grad(set_to_none=True)
    assert a.grad is None
    b.grad = torch.ones(4)
    a_before = a.detach().clone()
    opt.step()
    assert torch.equal(a, a_before)
    assert opt.state[a]["step"].item() == 1 and opt.state[b]["step"].item() == 1
    a.grad = torch.ones(4)
    opt.step()  # a and b now at different step counts
    assert opt.state[a]["step"].item() == 2 and opt.state[b]["step"].item() == 2


def snapshot(tensors):
    return [t.detach().clone() for t in tensors]


def unchanged(tensors, snap):
    return all(torch.equal(t, s) for t, s in zip(tensors, snap))


def bad_setup():
    good = torch.nn.Parameter(torch.randn(5))
    good.grad = torch.randn(5)
    return good


@pytest.mark.parametrize("case", ["sparse_grad", "complex", "integer", "meta", "grad_dtype", "grad_shape"])
def test_bad_input_refused_untouched(case):
    """Each is refused with an error naming the parameter, and nothing moves,
    not even the good parameter of the other group."""
    need_kernels("torch_adam")
    good = bad_setup()
    if case == "sparse_grad":
        bad = torch.nn.Parameter(torch.randn(3, 4))
        bad.grad = torch.randn(3, 4).to_sparse()
        err = RuntimeError
    elif case == "complex":
        bad = torch.nn.Parameter(torch.randn(3, dtype=torch.complex64))
        bad.grad = torch.randn(3, dtype=torch.complex64)
        err = TypeError
    elif case == "integer":
        bad = torch.arange(4)
        bad.grad = torch.arange(4)
        err = TypeError
    elif case == "meta":
        bad = torch.nn.Parameter(torch.empty(3, device="meta"))
        bad.grad = torch.empty(3, device="meta")
        err = RuntimeError
    else:
        # torch checks an assigned .grad; swapping its .data does not.
        bad = torch.nn.Parameter(torch.randn(3))
        bad.grad = torch.randn(3)
        bad.grad.data = {"grad_dtype": torch.randn(3, dtype=torch.float64),
                         "grad_shape": torch.randn(2)}[case]
        err = TypeError if case == "grad_dtype" else RuntimeError
    opt = ot.Adam([{"params": [good]}, {"params": [torch.nn.Parameter(torch.randn(2)), bad]}], lr=0.1)
    opt.param_groups[1]["params"][0].grad = torch.randn(2)
    snap = snapshot([good, opt.param_groups[1]["params"][0]])
    with pytest.raises(err, match=r"parameter 1 of param group 1"):
        opt.step()
    assert unchanged([good, opt.param_groups[1]["params"][0]], snap)


def test_sparse_grad_after_steps_untouched():
    """A gradient that turns bad after some steps (the cached fast path) is
    refused as well, and state does not move."""
    need_kernels("torch_adam")
    p, q = torch.nn.Parameter(torch.randn(4, 4)), torch.nn.Parameter(torch.randn(4))
    opt = ot.Adam([p, q], lr=0.1)
    for _ in range(2):
        p.grad, q.grad = torch.randn(4, 4), torch.randn(4)
        opt.step()
    snap = snapshot([p, q, opt.state[p]["exp_avg"], opt.state[q]["exp_avg"]])
    p.grad = torch.randn(4, 4).to_sparse()
    with pytest.raises(RuntimeError, match="parameter 0 of param group 0.*sparse"):
        opt.step()
    p.grad = torch.randn(4, 4)
    p.grad.data = torch.randn(4, 4, dtype=torch.float64)
    with pytest.raises(TypeError, match="parameter 0 of param group 0"):
        opt.step()
    assert unchanged([p, q, opt.state[p]["exp_avg"], opt.state[q]["exp_avg"]], snap)
    assert opt.state[p]["step"].item() == 2


def test_parameter_changed_under_the_optimizer():
    need_kernels("torch_adam")
    p = torch.nn.Parameter(torch.randn(8))
    opt = ot.Adam([p], lr=0.1)
    p.grad = torch.randn(8)
    opt.step()
    with torch.no_grad():
        p.data = torch.randn(4)
    p.grad = torch.randn(4)
    with pytest.raises(RuntimeError, match="changed dtype, size or device"):
        opt.step()


def test_hyperparameter_outside_kernel_domain():
    """torch accepts RMSprop(alpha=1.5); the kernel's domain is narrower,
    so the step raises ValueError and writes nothing."""
    need_kernels("torch_rmsprop")
    p = torch.nn.Parameter(torch.randn(5))
    p.grad = torch.randn(5)
    snap = snapshot([p])
    opt = ot.RMSprop([p], alpha=1.5)
    with pytest.raises(ValueError, match="torch_rmsprop"):
        opt.step()
    assert unchanged([p], snap)


def test_unsupported_options():
    p = torch.nn.Parameter(torch.randn(5))
    p.grad = torch.randn(5)
    for kw in ("capturable", "differentiable", "fused"):
        opt = ot.Adam([p], **{kw: True})
        with pytest.raises(RuntimeError, match=kw):
            opt.step()


BAD_ARGS = {
    "SGD": [dict(lr=-1), dict(lr=0.1, momentum=-0.1), dict(lr=0.1, weight_decay=-1),
            dict(lr=0.1, nesterov=True), dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)],
    "Adagrad": [dict(lr=-1), dict(lr_decay=-1), dict(weight_decay=-1), dict(initial_accumulator_value=-1),
                dict(eps=-1)],
    "RMSprop": [dict(lr=-1), dict(eps=-1), dict(momentum=-1), dict(weight_decay=-1), dict(alpha=-1)],
    "Adam": [dict(lr=-1), dict(eps=-1), dict(betas=(1.0, 0.9)), dict(betas=(0.9, -0.1)), dict(weight_decay=-1)],
    "AdamW": [dict(lr=-1), dict(eps=-1), dict(betas=(-0.1, 0.9)), dict(betas=(0.9, 1.0)), dict(weight_decay=-1)],
    "Adamax": [dict(lr=-1), dict(eps=-1), dict(betas=(1.0, 0.9)), dict(betas=(0.9, 1.5)), dict(weight_decay=-1)],
    "NAdam": [dict(lr=-1), dict(eps=-1), dict(betas=(1.0, 0.9)), dict(weight_decay=-1), dict(momentum_decay=-1)],
    "RAdam": [dict(lr=-1), dict(eps=-1), dict(betas=(0.9, 1.0)), dict(weight_decay=-1)],
    "Adadelta": [dict(lr=-1), dict(rho=1.5), dict(eps=-1), dict(weight_decay=-1)],
}


@pytest.mark.parametrize("cls", CLASSES)
def test_constructor_errors_as_torch(cls):
    for kw in BAD_ARGS[cls]:
        with pytest.raises(ValueError) as theirs:
            getattr(torch.optim, cls)([torch.nn.Parameter(torch.randn(2))], **kw)
        with pytest.raises(ValueError) as ours:
            getattr(ot, cls)([torch.nn.Parameter(torch.randn(2))], **kw)
        assert str(ours.value) == str(theirs.value), kw
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, cls)([])
    with pytest.raises(ValueError) as ours:
        getattr(ot, cls)([])
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("cls", CLASSES)
def test_defaults_as_torch(cls):
    if cls == "Adagrad":  # makes its state in the constructor
        need_kernels("torch_adagrad")
    p = [torch.nn.Parameter(torch.randn(2))]
    kw = {"lr": 0.1} if cls == "SGD" else {}
    ours = getattr(ot, cls)(p, **kw).param_groups[0]
    theirs = getattr(torch.optim, cls)(p, **kw).param_groups[0]
    assert {k: v for k, v in ours.items() if k != "params"} == {k: v for k, v in theirs.items() if k != "params"}


def test_sgd_requires_lr():
    with pytest.raises(ValueError, match="required optimization parameter lr"):
        ot.SGD([{"params": [torch.nn.Parameter(torch.randn(2))]}])


def test_threads_follow_torch():
    need_kernels("torch_sgd")
    p = torch.nn.Parameter(torch.randn(4))
    p.grad = torch.randn(4)
    opt = ot.SGD([p], lr=0.1)
    old = torch.get_num_threads()
    try:
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            opt.step()
            assert optkern.get_num_threads() == n
        optkern.set_num_threads(5)
        opt.step()
        assert optkern.get_num_threads() == 5
        optkern.set_num_threads(None)
        torch.set_num_threads(2)
        opt.step()
        assert optkern.get_num_threads() == 2
    finally:
        optkern.set_num_threads(None)
        torch.set_num_threads(old)


def test_one_import_line_switch():
    """optkern.torch names the same classes as torch.optim, and each is a
    torch.optim.Optimizer (what schedulers and wrappers check)."""
    for cls in CLASSES:
        assert issubclass(getattr(ot, cls), torch.optim.Optimizer)
    opt = ot.Adam([torch.nn.Parameter(torch.randn(3))], lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    opt.param_groups[0]["params"][0].grad = torch.randn(3)
    if any(n == "torch_adam" for n, _ in optkern.kernels()):
        opt.step()
        sched.step()
        assert opt.param_groups[0]["lr"] == 0.05


@pytest.mark.parametrize("cls", ["AdamW", "DeepSpeedCPUAdam"])
def test_deepcopy_and_pickle(cls):
    """copy.deepcopy and pickling of a stepped optimizer (its caches are
    rebuilt) continue with the same bits."""
    import copy
    import pickle
    need_kernels("torch_adamw")
    p = torch.nn.Parameter(torch.randn(9))
    opt = getattr(ot, cls)([p], lr=0.01, weight_decay=0.1)
    p.grad = torch.randn(9)
    opt.step()
    pair = copy.deepcopy((p, opt))
    again = pickle.loads(pickle.dumps((p, opt)))
    for q, o in (pair, again):
        assert type(o) is type(opt) and o.state[q]["exp_avg"].dtype == torch.float32
        q.grad = p.grad.clone()
        o.step()
    opt.step()
    assert torch.equal(pair[0], p) and torch.equal(again[0], p)


def test_group_call_and_per_tensor_calls_agree(monkeypatch):
    """The optk_step_group path (where the library has it) and the loop of
    optk_step give the same bits, through skipped parameters and parameters
    at different step counts."""
    from optkern.torch import _base
    need_kernels("torch_adamw")
    shapes = [(40, 3), (7,), (1,), (300,)]

    def run():
        g0 = torch.Generator().manual_seed(9)
        ps = [torch.nn.Parameter(torch.randn(s, generator=g0)) for s in shapes]
        opt = ot.AdamW(ps, lr=0.01)
        for step in range(6):
            for i, p in enumerate(ps):
                p.grad = None if step % (i + 2) == 0 else torch.randn(p.shape, generator=g0)
            opt.step()
        return [p.detach().clone() for p in ps], [opt.state[p]["step"].item() for p in ps]
    first = run()
    monkeypatch.setattr(_base, "_GROUP", None)
    second = run()
    assert first[1] == second[1] and len(set(first[1])) > 1
    assert all(torch.equal(a, b) for a, b in zip(first[0], second[0]))
