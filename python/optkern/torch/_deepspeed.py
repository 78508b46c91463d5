"""DeepSpeed's CPU Adam (deepspeed.ops.adam.DeepSpeedCPUAdam) on optkern's
kernels, for ZeRO-Offload users: the same constructor, param-group options
and state (an int 'step', 'exp_avg', 'exp_avg_sq').

DeepSpeed's update, csrc/adam/cpu_adam_impl.cpp, Adam_Optimizer::Step_1
(deepspeedai/DeepSpeed at 1640828dd7a8, lines 45-73), in float:

    step_size = -alpha / bias_correction1                      (l. 48)
    w_decay   = -alpha * weight_decay                          (l. 49)
    if weight_decay > 0 and not adamw_mode: g = p * weight_decay + g     (l. 61)
    m = m * beta1;  m = g * (1 - beta1) + m                    (l. 62-63)
    v = v * beta2;  v = g * g * (1 - beta2) + v                (l. 65-67)
    d = sqrt(v) * bias_correction2 + eps;  u = m / d           (l. 69-71)
    if weight_decay > 0 and adamw_mode: p += w_decay * p       (l. 72)
    p = u * step_size + p                                      (l. 73)

with, from csrc/includes/cpu_adam.h (Adam_Optimizer::update_state, at
14e1981a4dc4), bias_correction1 = 1 - beta1^t and bias_correction2 =
1 / sqrt(1 - beta2^t) when bias_correction is on, both 1 when it is off.

That is torch's Adam (adamw_mode=False: L2 decay added to the gradient) or
AdamW (adamw_mode=True: p *= 1 - lr * weight_decay first), so the torch_adam
and torch_adamw kernels run it.  Without bias correction the kernels' own
corrections are undone through the hyperparameters of each step, exactly in
real arithmetic:  with c1 = 1 - beta1^t and s2 = sqrt(1 - beta2^t),
lr' = lr * c1 / s2 and eps' = eps / s2 turn lr / c1 * m / (sqrt(v) / s2 + eps')
into lr * m / (sqrt(v) + eps), and weight_decay' = weight_decay * lr / lr'
keeps AdamW's lr * weight_decay.  The options are rounded to float first, as
DeepSpeed takes them.  Rounding differs from DeepSpeed's AVX code (which
fuses multiply-adds where its scalar tail does not) by a few ulps.
"""
import ctypes
import math

import torch

from ._base import Optimizer


def _float32(x):
    return ctypes.c_float(x).value


class DeepSpeedCPUAdam(Optimizer):
    """Drop-in for deepspeed.ops.adam.DeepSpeedCPUAdam.

    amsgrad is accepted and ignored, as DeepSpeed does ("NOT SUPPORTED in
    DeepSpeed CPUAdam!").  fp32_optimizer_states=False keeps the moments of
    bfloat16/float16 parameters at the parameter's precision: they are
    rounded to it after every step, as DeepSpeed stores them."""

    optimizer_id = 0
    _step_format = "int"
    _group_defaults = {"amsgrad": False}

    def __init__(self, model_params, lr=1e-3, bias_correction=True, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, adamw_mode=True, fp32_optimizer_states=True):
        default_args = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, bias_correction=bias_correction,
                            amsgrad=amsgrad)
        super().__init__(model_params, default_args)
        self.opt_id = DeepSpeedCPUAdam.optimizer_id
        DeepSpeedCPUAdam.optimizer_id += 1
        self.adam_w_mode = adamw_mode
        self.fp32_optimizer_states = fp32_optimizer_states

    def __getstate__(self):  # pickling and copy.deepcopy keep the per-optimizer options
        state = super().__getstate__()
        state.update(opt_id=self.opt_id, adam_w_mode=self.adam_w_mode,
                     fp32_optimizer_states=self.fp32_optimizer_states)
        return state

    @staticmethod
    def _options(group):
        """lr, beta1, beta2, eps, weight_decay as DeepSpeed sees them: its
        ds_adam_step takes them as float, so 1 - beta2 is that of the float
        beta2 (0.999f is 1.3e-5 away from 0.999, which shows in the second
        moment), and it decays only when weight_decay > 0."""
        beta1, beta2 = group["betas"]
        wd = group["weight_decay"]
        return tuple(_float32(x) for x in (group["lr"], beta1, beta2, group["eps"], wd if wd > 0 else 0.0))

    def _kernel(self, group):
        lr, beta1, beta2, eps, wd = self._options(group)
        hp = dict(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=wd)
        return ("torch_adamw" if self.adam_w_mode else "torch_adam"), hp

    def _hparams_at(self, group, b, t):
        if group["bias_correction"]:
            return None
        lr, beta1, beta2, eps, wd = self._options(group)
        c1 = 1.0 - beta1 ** t
        s2 = math.sqrt(1.0 - beta2 ** t)
        lr2 = lr * c1 / s2
        hp = dict(lr=lr2, beta1=beta1, beta2=beta2, eps=eps / s2, weight_decay=wd)
        if self.adam_w_mode and lr2 > 0:
            hp["weight_decay"] = wd * lr / lr2
        return b.kernel.hparams(**hp)

    def _low_precision_state(self, b):
        return not self.fp32_optimizer_states and b.tdtype in (torch.bfloat16, torch.float16)

    def _after_step(self, b, idx, group):
        if self._low_precision_state(b):
            for j in (range(len(b.params)) if idx is None else idx):
                for s in b.tensors[j]:
                    s.copy_(s.to(b.tdtype))

    def _export_entry(self, p, st):
        out = super()._export_entry(p, st)
        if not self.fp32_optimizer_states and p.dtype in (torch.bfloat16, torch.float16):
            for k in ("exp_avg", "exp_avg_sq"):
                if isinstance(out.get(k), torch.Tensor):
                    out[k] = out[k].to(p.dtype)
        return out
