#!/usr/bin/python3
"""Oracle trajectories from PyTorch's torch.optim, for optkern's torch_* kernels
(issue 9) and for the Keras `adadelta` kernel (Keras 3's Adadelta is the same
computation as torch's; see keras/src/optimizers/adadelta.py).

Run with Debian's python3-torch (1.13):  /usr/bin/python3 tests/oracle/gen_torch.py
It writes tests/oracle/torch.json.  Every case is run twice: f32, and f64 under
torch.set_default_dtype(torch.float64), because torch keeps scalar state (step,
NAdam's mu_product) in the default dtype.

Paths taken inside torch 1.13:
- every optimizer with foreach=False (the single-tensor path), except
- NAdam with foreach=True: 1.13's single-tensor NAdam multiplies by mu twice
  (mu_product_next = mu_product * mu * mu_next), fixed upstream in PR #92699;
  its foreach path (_multi_tensor_nadam) has the corrected formula.
- torch 2.x's NAdam/RAdam options missing from 1.13 are reproduced around
  torch 1.13's own step, marked TORCH-2.X below:
    decoupled_weight_decay=1: torch 2.x does `param.mul_(1 - lr * weight_decay)`
      first thing in the step, before the gradient is read, instead of
      adding weight_decay * param to the gradient; here the script does that
      multiplication itself and runs 1.13's step with weight_decay=0.
    maximize=1 (NAdam): torch 2.x negates the gradient first thing; here the
      script hands 1.13 the negated gradient (negation is exact).  The file
      records the gradient before negation, as a caller would pass it.
The recorded gradient of a step is a copy taken before the step: 1.13's
foreach NAdam adds weight_decay * param into p.grad in place.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle_common as oc  # noqa: E402

# Issue 9's hyperparameters for each kernel, with the library's defaults
# (torch's own defaults, except momentum 0.9 where the kernel has one).
ADAM = dict(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, maximize=0)
RMS = dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, maximize=0)
KERNELS = {
    'torch_sgd': dict(lr=0.01, weight_decay=0.0, maximize=0),
    'torch_sgd_momentum': dict(lr=0.01, momentum=0.9, dampening=0.0, weight_decay=0.0,
                               nesterov=0, maximize=0),
    'torch_adagrad': dict(lr=0.01, lr_decay=0.0, weight_decay=0.0,
                          initial_accumulator_value=0.0, eps=1e-10, maximize=0),
    'torch_rmsprop': RMS,
    'torch_rmsprop_momentum': dict(RMS, momentum=0.9),
    'torch_rmsprop_centered': RMS,
    'torch_rmsprop_centered_momentum': dict(RMS, momentum=0.9),
    'torch_adam': ADAM,
    'torch_adam_amsgrad': ADAM,
    'torch_adamw': dict(ADAM, weight_decay=0.01),
    'torch_adamw_amsgrad': dict(ADAM, weight_decay=0.01),
    'torch_adamax': dict(ADAM, lr=0.002),
    'torch_nadam': dict(lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                        momentum_decay=0.004, decoupled_weight_decay=0, maximize=0),
    'torch_radam': dict(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                        decoupled_weight_decay=0),
    'torch_adadelta': dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=0),
    # Keras 3's Adadelta (keras/src/optimizers/adadelta.py, defaults lr 0.001,
    # rho 0.95, eps 1e-7) run through torch.optim.Adadelta.
    'adadelta': dict(lr=0.001, rho=0.95, eps=1e-7),
}

# Torch's state names for the Keras kernel that borrows torch's Adadelta.
STATE_RENAME = {'adadelta': {'square_avg': 'accumulated_grad',
                             'acc_delta': 'accumulated_delta_var'}}

# Option sets: (kernel, label, overrides of the defaults above).
CASES = [
    ('torch_sgd', 'defaults', {}),
    ('torch_sgd', 'wd_maximize', dict(lr=0.1, weight_decay=0.01, maximize=1)),
    ('torch_sgd_momentum', 'defaults', {}),
    ('torch_sgd_momentum', 'nesterov_wd', dict(nesterov=1, weight_decay=0.01)),
    ('torch_sgd_momentum', 'dampening_maximize', dict(momentum=0.5, dampening=0.5, maximize=1)),
    ('torch_adagrad', 'defaults', {}),
    ('torch_adagrad', 'decay_wd_init_maximize', dict(lr=0.1, lr_decay=0.1, weight_decay=0.01,
                                                     initial_accumulator_value=0.1, eps=1e-6,
                                                     maximize=1)),
]
for k in ('torch_rmsprop', 'torch_rmsprop_momentum', 'torch_rmsprop_centered',
          'torch_rmsprop_centered_momentum'):
    CASES.append((k, 'defaults', {}))
    CASES.append((k, 'wd_maximize', dict(alpha=0.9, eps=1e-6, weight_decay=0.01, maximize=1)))
for k in ('torch_adam', 'torch_adam_amsgrad'):
    CASES.append((k, 'defaults', {}))
    CASES.append((k, 'wd_maximize', dict(lr=0.01, beta1=0.5, beta2=0.9, eps=1e-6,
                                         weight_decay=0.01, maximize=1)))
for k in ('torch_adamw', 'torch_adamw_amsgrad'):
    CASES.append((k, 'defaults', {}))
    CASES.append((k, 'wd_maximize', dict(lr=0.01, beta2=0.9, weight_decay=0.1, maximize=1)))
CASES += [
    ('torch_adamax', 'defaults', {}),
    ('torch_adamax', 'wd_maximize', dict(beta1=0.5, eps=1e-6, weight_decay=0.01, maximize=1)),
    ('torch_nadam', 'defaults', {}),
    ('torch_nadam', 'wd_momentum_decay', dict(weight_decay=0.01, momentum_decay=0.01)),
    ('torch_nadam', 'decoupled_maximize', dict(weight_decay=0.1, decoupled_weight_decay=1,
                                               maximize=1)),
    ('torch_radam', 'defaults', {}),
    ('torch_radam', 'wd_beta2', dict(beta2=0.99, weight_decay=0.01)),
    ('torch_radam', 'decoupled', dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=1)),
    ('torch_adadelta', 'defaults', {}),
    ('torch_adadelta', 'wd_maximize', dict(rho=0.5, weight_decay=0.01, maximize=1)),
    ('adadelta', 'defaults', {}),
    ('adadelta', 'torch_defaults', dict(lr=1.0, rho=0.9, eps=1e-6)),
]


def make_optimizer(kernel, p, hp):
    """torch.optim's optimizer for kernel with hyperparameters hp, and the
    (decoupled decay factor or None, negate gradient) that TORCH-2.X needs."""
    b = (hp.get('beta1'), hp.get('beta2'))
    mx = bool(hp.get('maximize', 0))
    st = dict(foreach=False)
    if kernel == 'torch_sgd':
        return torch.optim.SGD([p], lr=hp['lr'], weight_decay=hp['weight_decay'],
                               maximize=mx, **st), None, False
    if kernel == 'torch_sgd_momentum':
        return torch.optim.SGD([p], lr=hp['lr'], momentum=hp['momentum'],
                               dampening=hp['dampening'], weight_decay=hp['weight_decay'],
                               nesterov=bool(hp['nesterov']), maximize=mx, **st), None, False
    if kernel == 'torch_adagrad':
        return torch.optim.Adagrad([p], lr=hp['lr'], lr_decay=hp['lr_decay'],
                                   weight_decay=hp['weight_decay'],
                                   initial_accumulator_value=hp['initial_accumulator_value'],
                                   eps=hp['eps'], maximize=mx, **st), None, False
    if kernel.startswith('torch_rmsprop'):
        return torch.optim.RMSprop([p], lr=hp['lr'], alpha=hp['alpha'], eps=hp['eps'],
                                   weight_decay=hp['weight_decay'],
                                   momentum=hp.get('momentum', 0.0),
                                   centered='centered' in kernel, maximize=mx, **st), None, False
    if kernel in ('torch_adam', 'torch_adam_amsgrad'):
        return torch.optim.Adam([p], lr=hp['lr'], betas=b, eps=hp['eps'],
                                weight_decay=hp['weight_decay'], amsgrad='amsgrad' in kernel,
                                maximize=mx, **st), None, False
    if kernel in ('torch_adamw', 'torch_adamw_amsgrad'):
        return torch.optim.AdamW([p], lr=hp['lr'], betas=b, eps=hp['eps'],
                                 weight_decay=hp['weight_decay'], amsgrad='amsgrad' in kernel,
                                 maximize=mx, **st), None, False
    if kernel == 'torch_adamax':
        return torch.optim.Adamax([p], lr=hp['lr'], betas=b, eps=hp['eps'],
                                  weight_decay=hp['weight_decay'], maximize=mx, **st), None, False
    if kernel in ('torch_nadam', 'torch_radam'):
        decoupled = bool(hp['decoupled_weight_decay'])
        wd = 0.0 if decoupled else hp['weight_decay']
        # TORCH-2.X: decoupled decay factor, applied by step() below.
        factor = 1 - hp['lr'] * hp['weight_decay'] if decoupled else None
        if kernel == 'torch_nadam':
            # foreach=True: the corrected NAdam (see the module doc string).
            return torch.optim.NAdam([p], lr=hp['lr'], betas=b, eps=hp['eps'], weight_decay=wd,
                                     momentum_decay=hp['momentum_decay'],
                                     foreach=True), factor, mx
        return torch.optim.RAdam([p], lr=hp['lr'], betas=b, eps=hp['eps'], weight_decay=wd,
                                 **st), factor, False
    if kernel in ('torch_adadelta', 'adadelta'):
        return torch.optim.Adadelta([p], lr=hp['lr'], rho=hp['rho'], eps=hp['eps'],
                                    weight_decay=hp.get('weight_decay', 0.0), maximize=mx,
                                    **st), None, False
    raise KeyError(kernel)


def run_case(kernel, label, overrides, dtype, seed):
    hp = dict(KERNELS[kernel])
    unknown = set(overrides) - set(hp)
    if unknown:
        raise KeyError('%s: no hyperparameter %s' % (kernel, sorted(unknown)))
    hp.update(overrides)
    torch.set_default_dtype(torch.float32 if dtype == 'f32' else torch.float64)
    param0, grads = oc.make_inputs(seed, dtype)
    p = torch.tensor(param0, requires_grad=True)
    opt, decay, negate = make_optimizer(kernel, p, hp)
    params = []
    for g in grads:
        gt = torch.tensor(g)
        p.grad = -gt if negate else gt.clone()   # TORCH-2.X: NAdam maximize
        with torch.no_grad():
            if decay is not None:
                p.mul_(decay)                    # TORCH-2.X: decoupled weight decay
            opt.step()
        params.append([float(v) for v in p.detach()])
    state = {}
    rename = STATE_RENAME.get(kernel, {})
    for name, v in opt.state[p].items():
        if torch.is_tensor(v) and v.shape == p.shape:
            state[rename.get(name, name)] = [float(x) for x in v]
    for row in params:
        for v in row:
            if v != v or abs(v) == float('inf'):
                raise ValueError('%s %s %s: non-finite parameter' % (kernel, label, dtype))
    return oc.case_json(kernel, dtype, label, hp, param0, grads, params, state)


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'torch.json')
    cases = []
    for i, (kernel, label, overrides) in enumerate(CASES):
        for dtype in ('f32', 'f64'):
            cases.append(run_case(kernel, label, overrides, dtype, seed=1000 + i))
    tool = 'torch %s (Debian python3-torch), Python %d.%d' % (
        torch.__version__, sys.version_info[0], sys.version_info[1])
    oc.write_file(out, 'torch', tool, 'tests/oracle/gen_torch.py', cases)
    print('%s: %d cases' % (out, len(cases)))


if __name__ == '__main__':
    main()
