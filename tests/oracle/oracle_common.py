"""Shared by gen_torch.py and gen_keras.py: the inputs every case starts from,
number formatting that round-trips exactly, and the JSON writer.

Nothing here knows an optimizer.  Inputs come from Python's own Mersenne
Twister (random.Random(seed).random() is stable across Python versions), so a
rerun writes the same file byte for byte.
"""
import math
import random
import struct
from fractions import Fraction

N = 37          # elements per case (the brief's minimum)
STEPS = 10      # steps per case; RAdam's rho_t passes 5 at step 6 with beta2 = 0.999


def f32(x):
    """x rounded to the nearest float32 (as a Python float, exactly)."""
    return struct.unpack('<f', struct.pack('<f', x))[0]


def _short(x, digits):
    """x with `digits` significant digits, as a Python float."""
    return float('%.*g' % (digits, x))


def _log_uniform(rng, lo, hi):
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def make_inputs(seed, dtype, n=N, steps=STEPS):
    """Initial parameters and one fresh gradient per step.

    Element 0 is 0 with a gradient of 0 at every step, element 1 starts at 0
    with nonzero gradients, element 2 never gets a gradient; elements 3 and 4
    have scales 1e-8 and 100, the rest log-uniform scales in 1e-8..100
    for parameters and gradients independently.  About one gradient in eight
    is exactly 0.  Values have two significant digits, so the file stays
    small; f32 cases round them to float32."""
    rng = random.Random(seed)
    pscale = [0.0, 0.0, 1.0, 1e-8, 100.0]
    gscale = [0.0, 1.0, 0.0, 100.0, 1e-8]
    while len(pscale) < n:
        pscale.append(_log_uniform(rng, 1e-8, 100.0))
        gscale.append(_log_uniform(rng, 1e-8, 100.0))
    rnd = f32 if dtype == 'f32' else (lambda v: v)

    def draw(scale):
        if scale == 0.0:
            return 0.0
        u = rng.uniform(0.1, 1.0) * (1 if rng.random() < 0.5 else -1)
        return rnd(_short(scale * u, 2))

    param0 = [draw(s) for s in pscale]
    grads = []
    for _ in range(steps):
        row = []
        for s in gscale:
            v = draw(s)
            if rng.random() < 0.125:
                v = 0.0
            row.append(v)
        grads.append(row)
    return param0, grads


def _ulp32(x):
    m, e = math.frexp(abs(x))  # abs(x) = m * 2^e, 0.5 <= m < 1
    if x == 0:
        return Fraction(2) ** -149
    return Fraction(2) ** max(e - 24, -149)


def fmt(x, dtype):
    """The shortest decimal that reads back as exactly x: repr() for f64; for
    f32 the fewest digits closer to x than half an ulp by a margin of 2^-20
    ulp, so that both a correctly rounded strtof and strtod-then-(float)
    (whose double rounding errs by at most 2^-29 ulp) give x back."""
    if x != x or x in (math.inf, -math.inf):
        raise ValueError('non-finite value %r in a trajectory' % x)
    if dtype == 'f64':
        return repr(x)
    if x == 0:
        return '-0.0' if math.copysign(1, x) < 0 else '0.0'
    half = _ulp32(x) * (Fraction(1, 2) - Fraction(1, 2 ** 20))
    for digits in range(1, 10):
        s = '%.*g' % (digits, x)
        if abs(Fraction(s) - Fraction(x)) < half and f32(float(s)) == x:
            return s if ('.' in s or 'e' in s) else s + '.0'
    raise AssertionError('no round-trip decimal for %r' % x)


def _vec(values, dtype):
    return '[' + ','.join(fmt(v, dtype) for v in values) + ']'


def case_json(kernel, dtype, label, hparams, param0, grads, params, state):
    """One case as a JSON object on one line (hyperparameters are doubles,
    whatever the storage type, 0/1 switches written as integers; state
    arrays in the case's dtype)."""
    hp = ','.join('"%s":%s' % (k, str(v) if isinstance(v, int) else fmt(v, 'f64'))
                  for k, v in hparams.items())
    st = ','.join('"%s":%s' % (k, _vec(v, dtype)) for k, v in state.items())
    return ('{"kernel":"%s","dtype":"%s","label":"%s","hparams":{%s},"n":%d,"steps":%d,'
            '"param0":%s,"grads":[%s],"params":[%s],"state":{%s}}' %
            (kernel, dtype, label, hp, len(param0), len(grads), _vec(param0, dtype),
             ','.join(_vec(g, dtype) for g in grads),
             ','.join(_vec(p, dtype) for p in params), st))


def write_file(path, source, tool, generator, cases):
    with open(path, 'w') as f:
        f.write('{"source":"%s","tool":"%s","generator":"%s","cases":[\n' % (source, tool, generator))
        f.write(',\n'.join(cases))
        f.write('\n]}\n')
