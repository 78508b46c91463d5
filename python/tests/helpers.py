"""A small MLP, its data, and trajectory comparisons for the optimizer tests."""
import copy

import torch


class MLP(torch.nn.Module):
    """Linear(5, 16) - tanh - Linear(16, 3); with frozen=True also a layer
    the loss never uses, whose parameters get no gradient."""

    def __init__(self, frozen):
        super().__init__()
        self.l1 = torch.nn.Linear(5, 16)
        self.l2 = torch.nn.Linear(16, 3)
        if frozen:
            self.unused = torch.nn.Linear(3, 2)

    def forward(self, x):
        return self.l2(torch.tanh(self.l1(x)))


def mlp(seed=0, frozen=False):
    g = torch.Generator().manual_seed(seed)
    model = MLP(frozen)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)
    return model


def batches(n, seed=1, dtype=None):
    g = torch.Generator().manual_seed(seed)
    dtype = dtype or torch.get_default_dtype()
    return [(torch.randn(8, 5, generator=g).to(dtype), torch.randn(8, 3, generator=g).to(dtype)) for _ in range(n)]


def loss_of(model, x, y):
    return ((model(x) - y) ** 2).mean()


def train(model, opt, data, closure=False):
    """Steps opt over data; returns the parameters after every step."""
    out = []
    for x, y in data:
        if closure:
            def c():
                opt.zero_grad()
                loss = loss_of(model, x, y)
                loss.backward()
                return loss
            opt.step(c)
        else:
            opt.zero_grad()
            loss_of(model, x, y).backward()
            opt.step()
        out.append([p.detach().clone() for p in model.parameters()])
    return out


def rel_err(a, b):
    """max |a - b| / max |b| (0 when both are 0)."""
    scale = b.abs().max().item()
    diff = (a.double() - b.double()).abs().max().item()
    return diff / scale if scale > 0 else diff


def assert_close_traj(ours, ref, rtol, what=""):
    for step, (ps, qs) in enumerate(zip(ours, ref), 1):
        for i, (p, q) in enumerate(zip(ps, qs)):
            e = rel_err(p, q)
            assert e <= rtol, "%s: step %d, parameter %d: relative error %.3g > %.1g" % (what, step, i, e, rtol)


def twin(model):
    return copy.deepcopy(model)
