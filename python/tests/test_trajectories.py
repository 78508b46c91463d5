"""optkern.torch against torch.optim: 15 steps of a small MLP for every class
and a range of options, in float64 (relative error 1e-9, under
torch.set_default_dtype(torch.float64), since torch keeps scalar state such
as 'step' and 'mu_product' in the default dtype) and float32 (2e-6; the worst seen is 2.2e-7)."""
import pytest

torch = pytest.importorskip("torch")  # Debian's python3-torch; scripts/install-deps python

import optkern.torch as ot
from conftest import default_dtype, need_kernels
from helpers import assert_close_traj, batches, mlp, train, twin

STEPS = 15
# (class, options, kernels it needs).  lr values are large enough that the
# parameters move well beyond rounding noise in 15 steps.
CASES = [
    ("SGD", dict(lr=0.1), "torch_sgd"),
    ("SGD", dict(lr=0.1, weight_decay=0.05, maximize=True), "torch_sgd"),
    ("SGD", dict(lr=0.05, momentum=0.9), "torch_sgd_momentum"),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01), "torch_sgd_momentum"),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True), "torch_sgd_momentum"),
    ("Adagrad", dict(), "torch_adagrad"),
    ("Adagrad", dict(lr=0.05, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.2, eps=1e-6),
     "torch_adagrad"),
    ("Adagrad", dict(lr=0.05, maximize=True), "torch_adagrad"),
    ("RMSprop", dict(), "torch_rmsprop"),
    ("RMSprop", dict(lr=0.005, alpha=0.9, eps=1e-6, weight_decay=0.05, maximize=True), "torch_rmsprop"),
    ("RMSprop", dict(lr=0.005, momentum=0.7), "torch_rmsprop_momentum"),
    ("RMSprop", dict(lr=0.005, centered=True), "torch_rmsprop_centered"),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5, weight_decay=0.01), "torch_rmsprop_centered_momentum"),
    ("Adam", dict(lr=0.01), "torch_adam"),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1), "torch_adam"),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True), "torch_adam_amsgrad"),
    ("AdamW", dict(lr=0.01), "torch_adamw"),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, betas=(0.85, 0.995)), "torch_adamw"),
    ("AdamW", dict(lr=0.01, amsgrad=True), "torch_adamw_amsgrad"),
    ("AdamW", dict(lr=0.01, maximize=True), "torch_adamw"),
    ("Adamax", dict(), "torch_adamax"),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, maximize=True), "torch_adamax"),
    ("NAdam", dict(), "torch_nadam"),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01), "torch_nadam"),
    ("RAdam", dict(), "torch_radam"),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.99), weight_decay=0.1), "torch_radam"),
    ("Adadelta", dict(), "torch_adadelta"),
    ("Adadelta", dict(lr=0.5, rho=0.95, eps=1e-5, weight_decay=0.1, maximize=True), "torch_adadelta"),
]


def reference(cls, params, opts):
    """torch.optim's optimizer.  NAdam runs torch's foreach path: 1.13's
    single-tensor NAdam multiplies by mu twice (fixed upstream in PR #92699)."""
    if cls == "NAdam":
        opts = dict(opts, foreach=True)
    return getattr(torch.optim, cls)(params, **opts)


def ids(case):
    cls, opts, _ = case
    return cls + "(" + ",".join("%s=%s" % kv for kv in opts.items()) + ")"


def run_pair(cls, opts, frozen=False, closure=False):
    model = mlp(frozen=frozen)
    ref_model = twin(model)
    data = batches(STEPS)
    ours = train(model, getattr(ot, cls)(model.parameters(), **opts), data, closure=closure)
    ref = train(ref_model, reference(cls, ref_model.parameters(), opts), data, closure=closure)
    return model, ref_model, ours, ref


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_float64(case):
    cls, opts, kernel = case
    need_kernels(kernel)
    with default_dtype(torch.float64):
        _, _, ours, ref = run_pair(cls, opts)
    assert ours[0][0].dtype == torch.float64
    assert_close_traj(ours, ref, 1e-9, ids(case) + " f64")


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_float32(case):
    cls, opts, kernel = case
    need_kernels(kernel)
    _, _, ours, ref = run_pair(cls, opts)
    assert ours[0][0].dtype == torch.float32
    assert_close_traj(ours, ref, 2e-6, ids(case) + " f32")


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in ("SGD", "Adam", "RMSprop", "NAdam", "Adadelta",
                                                                 "Adagrad")], ids=ids)
def test_state_dict_like_torch(case):
    cls, opts, kernel = case
    need_kernels(kernel)
    with default_dtype(torch.float64):
        model = mlp(frozen=True)
        ref_model = twin(model)
        data = batches(STEPS)
        opt = getattr(ot, cls)(model.parameters(), **opts)
        ref_opt = reference(cls, ref_model.parameters(), opts)
        train(model, opt, data)
        train(ref_model, ref_opt, data)
        sd, rsd = opt.state_dict(), ref_opt.state_dict()
    rpg = [dict(g) for g in rsd["param_groups"]]
    if cls == "NAdam":  # the reference ran with foreach=True
        for g in rpg:
            g["foreach"] = None
    assert sd["param_groups"] == rpg
    assert sorted(sd["state"]) == sorted(rsd["state"])
    for k, rst in rsd["state"].items():
        st = sd["state"][k]
        assert sorted(st) == sorted(rst), "state %d: keys %s, torch %s" % (k, sorted(st), sorted(rst))
        for name, rv in rst.items():
            v = st[name]
            if rv is None:
                assert v is None
            elif isinstance(rv, torch.Tensor):
                assert isinstance(v, torch.Tensor) and v.dtype == rv.dtype and v.shape == rv.shape, name
                assert torch.allclose(v, rv, rtol=1e-9, atol=1e-12), name
            else:
                assert type(v) is type(rv) and v == rv, name


@pytest.mark.parametrize("closure", [False, True])
def test_param_groups_frozen_and_closure(closure):
    """Two groups with their own options, a parameter without a gradient,
    and step(closure) returning the loss."""
    need_kernels("torch_adam", "torch_adam_amsgrad")
    with default_dtype(torch.float64):
        model = mlp(frozen=True)
        ref_model = twin(model)

        def groups(m):
            return [{"params": m.l1.parameters()},
                    {"params": list(m.l2.parameters()) + list(m.unused.parameters()), "lr": 0.002, "amsgrad": True}]
        data = batches(STEPS)
        opt = ot.Adam(groups(model), lr=0.01)
        ours = train(model, opt, data, closure=closure)
        ref = train(ref_model, torch.optim.Adam(groups(ref_model), lr=0.01), data, closure=closure)
        assert_close_traj(ours, ref, 1e-9, "groups")
        frozen = list(model.unused.parameters())
        assert all(torch.equal(p, q) for p, q in zip(frozen, ref_model.unused.parameters()))
        assert all(p not in opt.state for p in frozen)
        x, y = data[0]

        def c():
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            return loss
        loss = opt.step(c)
        assert isinstance(loss, torch.Tensor) and loss.dim() == 0
        assert opt.step() is None


def test_add_param_group_and_lr_change():
    need_kernels("torch_sgd_momentum")
    with default_dtype(torch.float64):
        model = mlp()
        ref_model = twin(model)
        data = batches(STEPS)
        opts = [ot.SGD(model.l1.parameters(), lr=0.05, momentum=0.9),
                torch.optim.SGD(ref_model.l1.parameters(), lr=0.05, momentum=0.9)]
        trajs = [[], []]
        for step, (x, y) in enumerate(data):
            for k, (m, opt) in enumerate(zip((model, ref_model), opts)):
                if step == 5:
                    opt.add_param_group({"params": m.l2.parameters(), "lr": 0.01, "nesterov": True})
                if step == 9:
                    opt.param_groups[0]["lr"] = 0.02  # as an LR scheduler does
                opt.zero_grad()
                ((m(x) - y) ** 2).mean().backward()
                opt.step()
                trajs[k].append([p.detach().clone() for p in m.parameters()])
        assert_close_traj(trajs[0], trajs[1], 1e-9, "add_param_group")
