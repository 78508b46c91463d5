#!/usr/bin/env python3
"""Oracle trajectories from Keras 3's optimizer formulas, in double precision.

    python3 tests/oracle/gen_keras.py      (plain Python 3, no numpy, no Keras)

writes tests/oracle/keras.json.  It covers the Keras-flavour kernels that
TensorFlow.js lacks or computes differently (see gen_tfjs.js): adam,
adam_amsgrad, rmsprop_centered, rmsprop_centered_momentum, adamw, nadam,
adadelta, ftrl and lion.  Each update below restates, operation by operation
and in the same order, the `update_step` of keras/src/optimizers/<name>.py
(Keras 3, checked against keras-team/keras at commit 3422977a5e38), with
Python floats (IEEE double) standing in for keras.ops on a float64
variable: ops.square(x) is x * x, ops.power(a, b) is a ** b, ops.sign(0) is 0.
The cases are all f64: a double reference only pins an f32 kernel down to
f32's own rounding, and the f32 kernels are checked against tfjs and torch.
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle_common as oc  # noqa: E402


def sign(x):
    # keras.ops.sign: -1, 0 or 1; sign(0) = 0, so a Lion parameter whose
    # interpolated update c is exactly 0 does not move.
    return (x > 0) - (x < 0)


# Each optimizer: (hyperparameter defaults in optkern's names, state names and
# their initial values, per-element update).  `update(hp, t, p, g, s)` takes
# the state of one element as a dict and returns the new parameter; t is the
# 1-based step (Keras's iterations + 1).

def adam_update(amsgrad):
    # keras/src/optimizers/adam.py, Adam.update_step
    def update(hp, t, p, g, s):
        beta_1_power = hp['beta1'] ** t
        beta_2_power = hp['beta2'] ** t
        alpha = hp['lr'] * math.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        s['m'] = s['m'] + (g - s['m']) * (1 - hp['beta1'])
        s['v'] = s['v'] + (g * g - s['v']) * (1 - hp['beta2'])
        v = s['v']
        if amsgrad:
            s['vhat'] = max(s['vhat'], s['v'])     # ops.maximum(v_hat, v)
            v = s['vhat']
        return p - (s['m'] * alpha) / (math.sqrt(v) + hp['eps'])
    return update


def adamw_update(hp, t, p, g, s):
    # keras/src/optimizers/base_optimizer.py, BaseOptimizer._apply_weight_decay
    # (called before the update step): variable - variable * wd * lr;
    # then keras/src/optimizers/adamw.py's AdamW is Adam (amsgrad=False).
    p = p - p * hp['weight_decay'] * hp['lr']
    return adam_update(False)(hp, t, p, g, s)


def rmsprop_centered_update(momentum):
    # keras/src/optimizers/rmsprop.py, RMSprop.update_step with centered=True
    def update(hp, t, p, g, s):
        rho = hp['rho']
        s['v'] = rho * s['v'] + (1 - rho) * (g * g)
        s['a'] = rho * s['a'] + (1 - rho) * g
        denominator = s['v'] - s['a'] * s['a'] + hp['eps']
        increment = (hp['lr'] * g) / math.sqrt(denominator)
        if momentum:
            s['mom'] = hp['momentum'] * s['mom'] + increment
            return p - s['mom']
        return p - increment
    return update


def nadam_update(hp, t, p, g, s):
    # keras/src/optimizers/nadam.py: Nadam._backend_update_step multiplies
    # the u_product variable by beta_1 * (1 - 0.5 * 0.96^(iterations + 1))
    # once per step, before update_step reads it; s['u_product'] is that
    # variable (per element here, the same value for every element).
    b1, b2 = hp['beta1'], hp['beta2']
    s['u_product'] = s['u_product'] * b1 * (1.0 - 0.5 * 0.96 ** t)
    # Nadam.update_step
    u_t = b1 * (1.0 - 0.5 * (0.96 ** t))
    u_t_1 = b1 * (1.0 - 0.5 * (0.96 ** (t + 1)))
    u_product_t = s['u_product']
    u_product_t_1 = u_product_t * u_t_1
    beta_2_power = b2 ** t
    s['m'] = s['m'] + (g - s['m']) * (1 - b1)
    s['v'] = s['v'] + (g * g - s['v']) * (1 - b2)
    m_hat = (u_t_1 * s['m']) / (1 - u_product_t_1) + ((1 - u_t) * g) / (1 - u_product_t)
    v_hat = s['v'] / (1 - beta_2_power)
    return p - (m_hat * hp['lr']) / (math.sqrt(v_hat) + hp['eps'])


def adadelta_update(hp, t, p, g, s):
    # keras/src/optimizers/adadelta.py, Adadelta.update_step
    rho, eps = hp['rho'], hp['eps']

    def rms(x):
        return math.sqrt(x + eps)
    s['accumulated_grad'] = rho * s['accumulated_grad'] + (1 - rho) * (g * g)
    delta_var = -((rms(s['accumulated_delta_var']) * g) / rms(s['accumulated_grad']))
    s['accumulated_delta_var'] = (rho * s['accumulated_delta_var'] +
                                  (1 - rho) * (delta_var * delta_var))
    return p + hp['lr'] * delta_var


def ftrl_update(hp, t, p, g, s):
    # keras/src/optimizers/ftrl.py, Ftrl.update_step
    lr, lr_power = hp['lr'], hp['lr_power']
    l2_reg = hp['l2'] + hp['beta'] / (2.0 * lr)
    grad_to_use = g + (2 * hp['l2_shrinkage']) * p
    accum = s['accumulator']
    new_accum = accum + g * g
    s['linear'] = s['linear'] + (grad_to_use -
                                 ((new_accum ** -lr_power - accum ** -lr_power) / lr) * p)
    quadratic = (new_accum ** (-lr_power)) / lr + 2 * l2_reg
    l1 = hp['l1']
    linear_clipped = min(max(s['linear'], -l1), l1)     # ops.clip
    s['accumulator'] = new_accum
    return (linear_clipped - s['linear']) / quadratic


def lion_update(hp, t, p, g, s):
    # keras/src/optimizers/lion.py, Lion.update_step
    b1, b2 = hp['beta1'], hp['beta2']
    p = p - hp['lr'] * sign(s['m'] * b1 + g * (1.0 - b1))
    s['m'] = s['m'] * b2 + g * (1.0 - b2)
    return p


ADAM_HP = dict(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7)
RMS_HP = dict(lr=0.001, rho=0.9, eps=1e-7)
OPTIMIZERS = {
    # kernel: (defaults (keras/src/optimizers/<name>.py __init__), state (initial), update)
    'adam': (ADAM_HP, dict(m=0.0, v=0.0), adam_update(False)),
    'adam_amsgrad': (ADAM_HP, dict(m=0.0, v=0.0, vhat=0.0), adam_update(True)),
    'rmsprop_centered': (RMS_HP, dict(v=0.0, a=0.0), rmsprop_centered_update(False)),
    'rmsprop_centered_momentum': (dict(RMS_HP, momentum=0.9), dict(v=0.0, a=0.0, mom=0.0),
                                  rmsprop_centered_update(True)),
    'adamw': (dict(ADAM_HP, weight_decay=0.004), dict(m=0.0, v=0.0), adamw_update),
    'nadam': (ADAM_HP, dict(m=0.0, v=0.0, u_product=1.0), nadam_update),
    'adadelta': (dict(lr=0.001, rho=0.95, eps=1e-7),
                 dict(accumulated_grad=0.0, accumulated_delta_var=0.0), adadelta_update),
    'ftrl': (dict(lr=0.001, lr_power=-0.5, initial_accumulator_value=0.1, l1=0.0, l2=0.0,
                  l2_shrinkage=0.0, beta=0.0),
             dict(accumulator='initial_accumulator_value', linear=0.0), ftrl_update),
    'lion': (dict(lr=0.001, beta1=0.9, beta2=0.99), dict(m=0.0), lion_update),
}
# Per-call scalars that are no state array of the kernel.
NOT_STATE = {'u_product'}

CASES = [
    ('adam', 'defaults', {}),
    ('adam', 'betas_eps', dict(lr=0.01, beta1=0.5, beta2=0.9, eps=1e-6)),
    ('adam_amsgrad', 'defaults', {}),
    ('adam_amsgrad', 'betas_eps', dict(lr=0.01, beta1=0.5, beta2=0.9, eps=1e-6)),
    ('rmsprop_centered', 'defaults', {}),
    ('rmsprop_centered', 'rho_eps', dict(lr=0.01, rho=0.5, eps=1e-6)),
    ('rmsprop_centered_momentum', 'defaults', {}),
    ('rmsprop_centered_momentum', 'rho_eps_momentum', dict(rho=0.5, eps=1e-6, momentum=0.5)),
    ('adamw', 'defaults', {}),
    ('adamw', 'wd_beta2', dict(lr=0.01, beta2=0.9, weight_decay=0.1)),
    ('nadam', 'defaults', {}),
    ('nadam', 'betas_eps', dict(lr=0.01, beta1=0.5, beta2=0.9, eps=1e-6)),
    ('adadelta', 'defaults', {}),
    ('adadelta', 'lr_rho_eps', dict(lr=1.0, rho=0.9, eps=1e-6)),
    ('ftrl', 'defaults', {}),
    ('ftrl', 'l1_l2_shrinkage_beta', dict(lr=0.1, l1=0.01, l2=0.01, l2_shrinkage=0.01,
                                          beta=0.1)),
    ('ftrl', 'power_init', dict(lr=0.05, lr_power=-0.7, initial_accumulator_value=0.5,
                                l1=0.001)),
    ('lion', 'defaults', {}),
    ('lion', 'betas', dict(lr=0.01, beta1=0.5, beta2=0.9)),
]


def run_case(kernel, label, overrides, seed):
    defaults, state0, update = OPTIMIZERS[kernel]
    hp = dict(defaults)
    unknown = set(overrides) - set(hp)
    if unknown:
        raise KeyError('%s: no hyperparameter %s' % (kernel, sorted(unknown)))
    hp.update(overrides)
    param0, grads = oc.make_inputs(seed, 'f64')
    init = {k: (hp[v] if isinstance(v, str) else v) for k, v in state0.items()}
    states = [dict(init) for _ in param0]
    p = list(param0)
    params = []
    for t, g in enumerate(grads, start=1):
        p = [update(hp, t, p[i], g[i], states[i]) for i in range(len(p))]
        for v in p:
            if not math.isfinite(v):
                raise ValueError('%s %s: non-finite parameter at step %d' % (kernel, label, t))
        params.append(p)
    state = {k: [s[k] for s in states] for k in state0 if k not in NOT_STATE}
    return oc.case_json(kernel, 'f64', label, hp, param0, grads, params, state)


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'keras.json')
    cases = [run_case(k, label, o, seed=2000 + i) for i, (k, label, o) in enumerate(CASES)]
    tool = ('Keras 3 formulas (keras/src/optimizers/*.py, keras-team/keras 3422977a5e38) '
            'in Python %d.%d floats' % sys.version_info[:2])
    oc.write_file(out, 'keras', tool, 'tests/oracle/gen_keras.py', cases)
    print('%s: %d cases' % (out, len(cases)))


if __name__ == '__main__':
    main()
