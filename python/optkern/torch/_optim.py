"""torch.optim's optimizers, with torch 1.13's constructor signatures,
defaults and argument errors, each mapped onto the optkern kernel of its
option set (the torch_* kernels follow torch.optim's single-tensor code;
NAdam follows its foreach path, which 1.13's single-tensor path gets wrong)."""
import torch
from torch.optim.optimizer import required

from ._base import Optimizer

_NOT_HERE = (
    ("capturable", "CUDA graph capture; optkern steps CPU tensors"),
    ("differentiable", "the step is a C kernel that autograd cannot trace"),
    ("fused", "torch's fused kernels are CUDA ones; optkern's step is fused already"),
)
_ADAM_DEFAULTS = {"amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                  "differentiable": False, "fused": False}


def _adam_like(group):
    beta1, beta2 = group["betas"]
    return dict(lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"])


def _check_betas(lr, eps, betas, weight_decay):
    if not 0.0 <= lr:
        raise ValueError("Invalid learning rate: {}".format(lr))
    if not 0.0 <= eps:
        raise ValueError("Invalid epsilon value: {}".format(eps))
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError("Invalid beta parameter at index 0: {}".format(betas[0]))
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError("Invalid beta parameter at index 1: {}".format(betas[1]))
    if not 0.0 <= weight_decay:
        raise ValueError("Invalid weight_decay value: {}".format(weight_decay))


class SGD(Optimizer):
    """torch.optim.SGD: torch_sgd (momentum=0) or torch_sgd_momentum."""

    _step_format = None  # torch's SGD keeps no step; the kernel's t == 1 is the buffer's first step
    _unsupported = _NOT_HERE[1:2]
    _group_defaults = {"nesterov": False, "maximize": False, "foreach": None, "differentiable": False}

    def __init__(self, params, lr=required, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False):
        if lr is not required and lr < 0.0:
            raise ValueError("Invalid learning rate: {}".format(lr))
        if momentum < 0.0:
            raise ValueError("Invalid momentum value: {}".format(momentum))
        if weight_decay < 0.0:
            raise ValueError("Invalid weight_decay value: {}".format(weight_decay))
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def _kernel(self, group):
        hp = dict(lr=group["lr"], weight_decay=group["weight_decay"], maximize=group["maximize"])
        if group["momentum"] == 0:
            return "torch_sgd", hp
        hp.update(momentum=group["momentum"], dampening=group["dampening"], nesterov=group["nesterov"])
        return "torch_sgd_momentum", hp

    def _on_new_entry(self, st):
        # torch's SGD records a None buffer for every stepped parameter when
        # momentum is 0.
        st.setdefault("momentum_buffer", None)


class Adagrad(Optimizer):
    """torch.optim.Adagrad: torch_adagrad.  State is made in the constructor,
    as torch does."""

    _group_defaults = {"foreach": None, "maximize": False}

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False):
        if not 0.0 <= lr:
            raise ValueError("Invalid learning rate: {}".format(lr))
        if not 0.0 <= lr_decay:
            raise ValueError("Invalid lr_decay value: {}".format(lr_decay))
        if not 0.0 <= weight_decay:
            raise ValueError("Invalid weight_decay value: {}".format(weight_decay))
        if not 0.0 <= initial_accumulator_value:
            raise ValueError("Invalid initial_accumulator_value value: {}".format(initial_accumulator_value))
        if not 0.0 <= eps:
            raise ValueError("Invalid epsilon value: {}".format(eps))
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)
        for gi, group in enumerate(self.param_groups):
            self._init_state_now(gi, group)

    def _kernel(self, group):
        return "torch_adagrad", dict(lr=group["lr"], lr_decay=group["lr_decay"], weight_decay=group["weight_decay"],
                                     initial_accumulator_value=group["initial_accumulator_value"],
                                     eps=group["eps"], maximize=group["maximize"])

    def share_memory(self):
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["sum"].share_memory_()


class RMSprop(Optimizer):
    """torch.optim.RMSprop: torch_rmsprop, _momentum, _centered or
    _centered_momentum."""

    _step_format = "int"
    _unsupported = _NOT_HERE[1:2]
    _group_defaults = {"momentum": 0, "centered": False, "foreach": None, "maximize": False,
                       "differentiable": False}

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 foreach=None, maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError("Invalid learning rate: {}".format(lr))
        if not 0.0 <= eps:
            raise ValueError("Invalid epsilon value: {}".format(eps))
        if not 0.0 <= momentum:
            raise ValueError("Invalid momentum value: {}".format(momentum))
        if not 0.0 <= weight_decay:
            raise ValueError("Invalid weight_decay value: {}".format(weight_decay))
        if not 0.0 <= alpha:
            raise ValueError("Invalid alpha value: {}".format(alpha))
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, foreach=foreach, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _kernel(self, group):
        hp = dict(lr=group["lr"], alpha=group["alpha"], eps=group["eps"], weight_decay=group["weight_decay"],
                  maximize=group["maximize"])
        name = "torch_rmsprop_centered" if group["centered"] else "torch_rmsprop"
        if group["momentum"] > 0:
            hp["momentum"] = group["momentum"]
            name += "_momentum"
        return name, hp


class Adam(Optimizer):
    """torch.optim.Adam: torch_adam or torch_adam_amsgrad."""

    _unsupported = _NOT_HERE
    _group_defaults = _ADAM_DEFAULTS

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=False):
        _check_betas(lr, eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    _name = "torch_adam"

    def _kernel(self, group):
        hp = _adam_like(group)
        hp["maximize"] = group["maximize"]
        return self._name + ("_amsgrad" if group["amsgrad"] else ""), hp


class AdamW(Adam):
    """torch.optim.AdamW: torch_adamw or torch_adamw_amsgrad."""

    _name = "torch_adamw"
    _group_defaults = {k: v for k, v in _ADAM_DEFAULTS.items() if k not in ("differentiable", "fused")}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False):
        _check_betas(lr, eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        foreach=foreach, maximize=maximize, capturable=capturable)
        Optimizer.__init__(self, params, defaults)


class Adamax(Optimizer):
    """torch.optim.Adamax: torch_adamax."""

    _group_defaults = {"foreach": None, "maximize": False}

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False):
        _check_betas(lr, eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def _kernel(self, group):
        hp = _adam_like(group)
        hp["maximize"] = group["maximize"]
        return "torch_adamax", hp


def _nadam_mu(beta1, momentum_decay, t):
    # torch/optim/nadam.py: mu = beta1 * (1. - 0.5 * (0.96 ** (step * momentum_decay)))
    return beta1 * (1.0 - 0.5 * (0.96 ** (float(t) * momentum_decay)))


class NAdam(Optimizer):
    """torch.optim.NAdam: torch_nadam, with the corrected update of torch's
    foreach path (1.13's single-tensor path multiplies by mu twice; fixed
    upstream in PR #92699).  Keyword-only extras from torch 2.x:
    decoupled_weight_decay and maximize (default off, 1.13's behaviour).

    The kernel derives mu_product from t; the state's 'mu_product' (torch's
    format) is kept alongside for checkpoints."""

    _group_defaults = {"foreach": None}

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 foreach=None, *, maximize=False, decoupled_weight_decay=False):
        _check_betas(lr, eps, betas, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError("Invalid momentum_decay value: {}".format(momentum_decay))
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        foreach=foreach)
        # Only when asked for, so that param_groups stay 1.13's otherwise.
        if maximize:
            defaults["maximize"] = maximize
        if decoupled_weight_decay:
            defaults["decoupled_weight_decay"] = decoupled_weight_decay
        super().__init__(params, defaults)

    def _kernel(self, group):
        hp = _adam_like(group)
        hp.update(momentum_decay=group["momentum_decay"],
                  decoupled_weight_decay=group.get("decoupled_weight_decay", False),
                  maximize=group.get("maximize", False))
        return "torch_nadam", hp

    def _finish_bucket(self, b, group):
        mus = []
        for st, c in zip(b.states, b.counts):
            m = st.get("mu_product")
            if isinstance(m, torch.Tensor):
                m = m.item()
            if m is None:
                m = 1.0
                beta1, psi = group["betas"][0], group["momentum_decay"]
                for t in range(1, c + 1):
                    m *= _nadam_mu(beta1, psi, t)
            mus.append(float(m))
        b.mus = mus
        b.mu_store = None
        if b.params:
            b.mu_store = torch.tensor(mus, dtype=torch.get_default_dtype())
            for j, st in enumerate(b.states):
                st["mu_product"] = b.mu_store[j]

    def _after_step(self, b, idx, group):
        beta1, psi = group["betas"][0], group["momentum_decay"]
        mus = b.mus
        if idx is None:
            m = mus[0] * _nadam_mu(beta1, psi, b.counts[0])
            if mus.count(mus[0]) == len(mus):
                b.mus = [m] * len(mus)
                b.mu_store.fill_(m)
                return
            idx = range(len(mus))
        for j in idx:
            mus[j] *= _nadam_mu(beta1, psi, b.counts[j])
        b.mu_store.copy_(torch.tensor(mus, dtype=b.mu_store.dtype))


class RAdam(Optimizer):
    """torch.optim.RAdam: torch_radam.  Keyword-only extra from torch 2.x:
    decoupled_weight_decay (default off, 1.13's behaviour)."""

    _group_defaults = {"foreach": None}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 decoupled_weight_decay=False):
        _check_betas(lr, eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach)
        if decoupled_weight_decay:
            defaults["decoupled_weight_decay"] = decoupled_weight_decay
        super().__init__(params, defaults)

    def _kernel(self, group):
        hp = _adam_like(group)
        hp["decoupled_weight_decay"] = group.get("decoupled_weight_decay", False)
        return "torch_radam", hp


class Adadelta(Optimizer):
    """torch.optim.Adadelta: torch_adadelta."""

    _step_format = "int"
    _group_defaults = {"foreach": None, "maximize": False}

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, maximize=False):
        if not 0.0 <= lr:
            raise ValueError("Invalid learning rate: {}".format(lr))
        if not 0.0 <= rho <= 1.0:
            raise ValueError("Invalid rho value: {}".format(rho))
        if not 0.0 <= eps:
            raise ValueError("Invalid epsilon value: {}".format(eps))
        if not 0.0 <= weight_decay:
            raise ValueError("Invalid weight_decay value: {}".format(weight_decay))
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach)
        super().__init__(params, defaults)

    def _kernel(self, group):
        return "torch_adadelta", dict(lr=group["lr"], rho=group["rho"], eps=group["eps"],
                                      weight_decay=group["weight_decay"], maximize=group["maximize"])

