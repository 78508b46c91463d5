"""Checkpoints move both ways: a state_dict saved by torch.optim (through
torch.save) continues under optkern.torch and the reverse, each tracking the
uninterrupted trajectory; optkern to optkern continues with the same bits."""
import io

import pytest

torch = pytest.importorskip("torch")  # Debian's python3-torch; scripts/install-deps python

import optkern.torch as ot
from conftest import default_dtype, need_kernels
from helpers import assert_close_traj, batches, mlp, train, twin

CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1), "torch_sgd_momentum"),
    ("SGD", dict(lr=0.1), "torch_sgd"),
    ("Adagrad", dict(lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1), "torch_adagrad"),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5), "torch_rmsprop_centered_momentum"),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1), "torch_adam_amsgrad"),
    ("AdamW", dict(lr=0.01), "torch_adamw"),
    ("Adamax", dict(lr=0.01), "torch_adamax"),
    ("NAdam", dict(lr=0.01, momentum_decay=0.01), "torch_nadam"),
    ("RAdam", dict(lr=0.01), "torch_radam"),
    ("Adadelta", dict(lr=0.5), "torch_adadelta"),
]
FIRST, SECOND = 7, 8


def ids(case):
    return case[0] + "(" + ",".join("%s=%s" % kv for kv in case[1].items()) + ")"


def make(kind, cls, params, opts):
    if kind == "torch":
        if cls == "NAdam":  # torch's single-tensor NAdam multiplies by mu twice (PR #92699)
            opts = dict(opts, foreach=True)
        return getattr(torch.optim, cls)(params, **opts)
    return getattr(ot, cls)(params, **opts)


def through_file(sd):
    buf = io.BytesIO()
    torch.save(sd, buf)
    buf.seek(0)
    return torch.load(buf)


def handover(cls, opts, first, second):
    """Trains FIRST steps with `first` ('torch' or 'optkern'), hands the
    checkpoint to `second` for SECOND more; returns that trajectory and the
    uninterrupted one of `second`."""
    data = batches(FIRST + SECOND)
    model = mlp(frozen=True)
    whole_model = twin(model)
    opt = make(first, cls, model.parameters(), opts)
    train(model, opt, data[:FIRST])
    sd = through_file(opt.state_dict())
    model2 = twin(model)
    opt2 = make(second, cls, model2.parameters(), opts)
    opt2.load_state_dict(sd)
    if second == "torch" and cls == "NAdam":
        for g in opt2.param_groups:
            g["foreach"] = True
    cont = train(model2, opt2, data[FIRST:])
    whole_opt = make(second, cls, whole_model.parameters(), opts)
    whole = train(whole_model, whole_opt, data)[FIRST:]
    return cont, whole, opt2, whole_opt


@pytest.mark.parametrize("case", CASES, ids=ids)
@pytest.mark.parametrize("direction", [("torch", "optkern"), ("optkern", "torch")], ids=lambda d: "%s-to-%s" % d)
def test_handover_f64(case, direction):
    cls, opts, kernel = case
    need_kernels(kernel)
    with default_dtype(torch.float64):
        cont, whole, _, _ = handover(cls, opts, *direction)
    assert_close_traj(cont, whole, 1e-9, "%s %s->%s" % (ids(case), *direction))


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_optkern_to_optkern_same_bits(case):
    cls, opts, kernel = case
    need_kernels(kernel)
    cont, whole, opt2, whole_opt = handover(cls, opts, "optkern", "optkern")
    for ps, qs in zip(cont, whole):
        for p, q in zip(ps, qs):
            assert torch.equal(p, q)
    a, b = opt2.state_dict()["state"], whole_opt.state_dict()["state"]
    assert sorted(a) == sorted(b)
    for k in a:
        for name, v in a[k].items():
            w = b[k][name]
            assert (torch.equal(v, w) if isinstance(v, torch.Tensor) else v == w), (k, name)


def test_step_views_are_independent_in_state_dict():
    """'step' is kept as views of one tensor; the state_dict's copies must not
    share storage, or torch.optim, which adds to each in place, would count
    every parameter's step into all of them."""
    need_kernels("torch_adam")
    model = mlp()
    opt = ot.Adam(model.parameters(), lr=0.01)
    train(model, opt, batches(3))
    sd = through_file(opt.state_dict())
    steps = [st["step"] for st in sd["state"].values()]
    assert all(s.dim() == 0 and s.item() == 3.0 for s in steps)
    steps[0] += 1
    assert [s.item() for s in steps[1:]] == [3.0] * (len(steps) - 1)
    live = [opt.state[p]["step"].item() for p in model.parameters()]
    assert live == [3.0] * len(live)


def test_bfloat16_state_stays_float32():
    """optkern keeps float32 state for bfloat16 parameters; torch casts
    loaded state to the parameter's dtype, and optkern takes bfloat16 state
    back as float32."""
    need_kernels("torch_adam")
    p = torch.nn.Parameter(torch.randn(33).to(torch.bfloat16))
    opt = ot.Adam([p], lr=0.01)
    p.grad = torch.randn(33).to(torch.bfloat16)
    opt.step()
    assert opt.state[p]["exp_avg"].dtype == torch.float32
    sd = through_file(opt.state_dict())
    q = torch.nn.Parameter(p.detach().clone())
    topt = torch.optim.Adam([q], lr=0.01)
    topt.load_state_dict(sd)
    assert topt.state[q]["exp_avg"].dtype == torch.bfloat16
    back = ot.Adam([p], lr=0.01)
    back.load_state_dict(through_file(topt.state_dict()))
    assert back.state[p]["exp_avg"].dtype == torch.float32
    opt2 = ot.Adam([p], lr=0.01)
    opt2.load_state_dict(sd)
    assert torch.equal(opt2.state[p]["exp_avg"], opt.state[p]["exp_avg"])


def test_direct_state_assignment_is_noticed():
    """ZeroRedundancyOptimizer.load_state_dict writes optimizer.state[p]
    itself; the next step must use the new tensors."""
    need_kernels("torch_adam")
    with default_dtype(torch.float64):
        model = mlp()
        ref = twin(model)
        opt = ot.Adam(model.parameters(), lr=0.01)
        ropt = torch.optim.Adam(ref.parameters(), lr=0.01)
        data = batches(6)
        train(model, opt, data[:3])
        train(ref, ropt, data[:3])
        for p, q in zip(model.parameters(), ref.parameters()):
            new = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in ropt.state[q].items()}
            new["exp_avg"] = new["exp_avg"] * 0.5
            ropt.state[q]["exp_avg"].mul_(0.5)
            opt.state[p] = new
        assert_close_traj(train(model, opt, data[3:]), train(ref, ropt, data[3:]), 1e-9, "direct state")


def test_state_entry_replacement_is_noticed():
    """Replacing one state tensor (resetting a moment) takes effect at the
    next step, as with torch."""
    need_kernels("torch_adam")
    with default_dtype(torch.float64):
        model = mlp()
        ref = twin(model)
        opt = ot.Adam(model.parameters(), lr=0.01)
        ropt = torch.optim.Adam(ref.parameters(), lr=0.01)
        data = batches(6)
        train(model, opt, data[:3])
        train(ref, ropt, data[:3])
        for o, m in ((opt, model), (ropt, ref)):
            for p in m.parameters():
                o.state[p]["exp_avg_sq"] = torch.zeros_like(p)
        assert_close_traj(train(model, opt, data[3:]), train(ref, ropt, data[3:]), 1e-9, "entry replaced")
