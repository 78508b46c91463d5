"""optkern.torch.DeepSpeedCPUAdam against a reference written from
DeepSpeed's own formulas, in float32 as DeepSpeed computes:
csrc/adam/cpu_adam_impl.cpp, Adam_Optimizer::Step_1 (deepspeedai/DeepSpeed
at 1640828dd7a8, lines 45-73), with the bias corrections of
csrc/includes/cpu_adam.h (Adam_Optimizer::IncrementStep and update_state)."""
import inspect

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # Debian's python3-torch; scripts/install-deps python

import optkern.torch as ot
from conftest import need_kernels

f32 = np.float32


class Reference:
    """DeepSpeed's CPU Adam for one tensor, in NumPy float32."""

    def __init__(self, p, lr, betas, eps, weight_decay, bias_correction, adamw_mode, state_dtype=None):
        self.p = p.astype(f32)
        self.m = np.zeros_like(self.p)
        self.v = np.zeros_like(self.p)
        self.lr, (self.b1, self.b2), self.eps, self.wd = f32(lr), map(f32, betas), f32(eps), f32(weight_decay)
        self.bc, self.adamw = bias_correction, adamw_mode
        self.b1_t, self.b2_t = f32(1), f32(1)  # cpu_adam.h: _betta1_t *= _betta1 on consecutive steps
        self.round_state = state_dtype

    def step(self, g):
        g = g.astype(f32)
        self.b1_t, self.b2_t = f32(self.b1_t * self.b1), f32(self.b2_t * self.b2)
        bc1 = f32(1) - self.b1_t if self.bc else f32(1)                    # update_state
        bc2 = f32(1) / np.sqrt(f32(1) - self.b2_t) if self.bc else f32(1)  # update_state
        b1m, b2m = f32(1) - self.b1, f32(1) - self.b2                      # l. 45-46
        step_size = -self.lr / bc1                                         # l. 48
        w_decay = -self.lr * self.wd                                       # l. 49
        p, m, v = self.p, self.m, self.v
        if self.wd > 0 and not self.adamw:
            g = p * self.wd + g                                            # l. 61
        m = m * self.b1                                                    # l. 62
        m = g * b1m + m                                                    # l. 63
        v = v * self.b2                                                    # l. 65
        gg = g * g                                                         # l. 66
        v = gg * b2m + v                                                   # l. 67
        d = np.sqrt(v)                                                     # l. 69
        d = d * bc2 + self.eps                                             # l. 70
        u = m / d                                                          # l. 71
        if self.wd > 0 and self.adamw:
            p = p + w_decay * p                                            # l. 72
        p = u * step_size + p                                              # l. 73
        if self.round_state is not None:  # 16-bit params keep 16-bit state when fp32_optimizer_states=False
            m = _round(m, self.round_state)
            v = _round(v, self.round_state)
        self.p, self.m, self.v = p, m, v


def _round(a, dtype):
    return torch.from_numpy(np.ascontiguousarray(a)).to(dtype).float().numpy()


def grads(n, shape):
    g = torch.Generator().manual_seed(11)
    return [torch.randn(shape, generator=g) * 0.3 for _ in range(n)]


@pytest.mark.parametrize("adamw_mode", [True, False], ids=["adamw", "adam"])
@pytest.mark.parametrize("bias_correction", [True, False], ids=["bc", "nobc"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_float32_against_deepspeed_formulas(adamw_mode, bias_correction, weight_decay):
    need_kernels("torch_adam", "torch_adamw")
    shape = (9, 13)
    p0 = torch.randn(shape, generator=torch.Generator().manual_seed(2))
    p = torch.nn.Parameter(p0.clone())
    opts = dict(lr=0.01, betas=(0.9, 0.99), eps=1e-6, weight_decay=weight_decay)
    opt = ot.DeepSpeedCPUAdam([p], bias_correction=bias_correction, adamw_mode=adamw_mode, **opts)
    ref = Reference(p0.numpy(), bias_correction=bias_correction, adamw_mode=adamw_mode, **opts)
    for g in grads(15, shape):
        p.grad = g
        opt.step()
        ref.step(g.numpy())
        scale = np.abs(ref.p).max()
        assert np.abs(p.detach().numpy() - ref.p).max() <= 2e-6 * scale
    st = opt.state[p]
    assert st["step"] == 15 and isinstance(st["step"], int)
    assert np.abs(st["exp_avg"].numpy() - ref.m).max() <= 1e-5 * np.abs(ref.m).max()
    assert np.abs(st["exp_avg_sq"].numpy() - ref.v).max() <= 1e-5 * np.abs(ref.v).max()


@pytest.mark.parametrize("fp32_states", [True, False], ids=["fp32-states", "bf16-states"])
def test_bfloat16(fp32_states):
    need_kernels("torch_adamw")
    shape = (40,)
    p0 = torch.randn(shape, generator=torch.Generator().manual_seed(4)).to(torch.bfloat16)
    p = torch.nn.Parameter(p0.clone())
    opt = ot.DeepSpeedCPUAdam([p], lr=0.01, weight_decay=0.01, fp32_optimizer_states=fp32_states)
    ref = Reference(p0.float().numpy(), lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01,
                    bias_correction=True, adamw_mode=True, state_dtype=None if fp32_states else torch.bfloat16)
    for g in grads(10, shape):
        g = g.to(torch.bfloat16)
        p.grad = g
        opt.step()
        ref.step(g.float().numpy())
        ref.p = _round(ref.p, torch.bfloat16)
        ours = p.detach().float().numpy()
        assert np.all(np.abs(ours - ref.p) <= 2.0 ** -7 * np.abs(ref.p))  # within a bfloat16 rounding
    sd = opt.state_dict()["state"][0]
    assert sd["exp_avg"].dtype == (torch.float32 if fp32_states else torch.bfloat16)
    if not fp32_states:  # the moments hold bfloat16 values
        m = opt.state[p]["exp_avg"]
        assert torch.equal(m, m.to(torch.bfloat16).float())


def test_param_groups_and_signature():
    need_kernels("torch_adam", "torch_adamw")
    sig = inspect.signature(ot.DeepSpeedCPUAdam.__init__)
    assert [(n, q.default) for n, q in list(sig.parameters.items())[1:]] == [
        ("model_params", inspect.Parameter.empty), ("lr", 1e-3), ("bias_correction", True), ("betas", (0.9, 0.999)),
        ("eps", 1e-8), ("weight_decay", 0), ("amsgrad", False), ("adamw_mode", True),
        ("fp32_optimizer_states", True)]
    a, b = torch.nn.Parameter(torch.randn(6)), torch.nn.Parameter(torch.randn(6))
    opt = ot.DeepSpeedCPUAdam([{"params": [a]}, {"params": [b], "bias_correction": False, "lr": 0.1}], lr=0.01)
    refs = [Reference(a.detach().numpy(), 0.01, (0.9, 0.999), 1e-8, 0, True, True),
            Reference(b.detach().numpy(), 0.1, (0.9, 0.999), 1e-8, 0, False, True)]
    for g in grads(5, (6,)):
        a.grad, b.grad = g, -g
        opt.step()
        refs[0].step(g.numpy())
        refs[1].step(-g.numpy())
    for p, r in zip((a, b), refs):
        assert np.abs(p.detach().numpy() - r.p).max() <= 2e-6 * np.abs(r.p).max()
    assert opt.param_groups[1]["bias_correction"] is False and "amsgrad" in opt.param_groups[0]
