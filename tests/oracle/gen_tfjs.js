#!/usr/bin/env node
// Oracle trajectories from TensorFlow.js (tfjs-core + the CPU backend, float32)
// for optkern's Keras-flavour kernels where tfjs computes what Keras 3 does.
//
//   cd tests/oracle && npm install && node gen_tfjs.js     (writes tfjs.json)
//
// Each tfjs optimizer (tfjs-core/src/optimizers/*.ts, dist/optimizers/*.js in
// the npm package) checked against Keras 3 (keras/src/optimizers/*.py,
// update_step); "same" means the same formula in exact arithmetic, the
// operation order may differ by a rounding:
//   sgd            SGDOptimizer: p + (-lr)*g.  Keras sgd.py: p - g*lr.  Same, and
//                  the same bits.
//   sgd_momentum   MomentumOptimizer: acc = momentum*acc + g; p += (-lr)*acc.
//                  Keras sgd.py: v = momentum*v - lr*g; p += v.  With a
//                  constant lr, v = -lr*acc: same trajectory, but tfjs's
//                  buffer is not Keras's v, so no state is recorded.
//   sgd_nesterov   useNesterov: p += (-lr)*(g + momentum*acc).  Keras: p +=
//                  momentum*v - lr*g.  Same (v = -lr*acc); no state.
//   adagrad        AdagradOptimizer: acc += g*g; p += (g/sqrt(acc + eps))*(-lr),
//                  eps = the backend's epsilon(), 1e-7 on the CPU backend
//                  (float32), which is Keras's default; it cannot be set, so
//                  every case has eps 1e-7.  Keras adagrad.py: p -= lr*g /
//                  sqrt(acc + eps), acc starting at initial_accumulator_value.
//   adamax         AdamaxOptimizer (decay 0): m = m*beta1 + g*(1-beta1);
//                  u = max(u*beta2, |g|); p += (-lr/(1 - beta1^t))*(m/(u + eps)).
//                  Keras adamax.py: m += (g - m)*(1-beta1); the same u;
//                  p -= lr*m/((1 - beta1^t)*(u + eps)).  Same, except that tfjs
//                  keeps beta1^t as a float32 running product (a relative
//                  difference of about t*6e-8 in the step).
//   rmsprop        RMSPropOptimizer, centered=false, momentum=0: v = v*rho +
//   rmsprop_momentum  g*g*(1-rho); mom = mom*momentum + g*lr/sqrt(v + eps);
//                  p -= mom.  Keras rmsprop.py: the same v and increment
//                  lr*g/sqrt(v + eps); p -= increment, or with momentum
//                  mom = momentum*mom + increment; p -= mom.  Same.
// Not taken from tfjs (gen_keras.py computes them from Keras's formulas):
//   Adam: tfjs adds eps to sqrt(v / (1 - beta2^t)), Keras adds it to sqrt(v)
//     and folds the corrections into alpha = lr*sqrt(1 - beta2^t)/(1 - beta1^t);
//     tfjs also keeps beta1^t and beta2^t as float32 running products.
//   centered RMSprop: tfjs takes sqrt(v - (a*a + eps)), Keras sqrt(v - a*a + eps).
//   Adadelta: tfjs divides by sqrt(accumulated_grad + eps) from before the
//     step's update of accumulated_grad; Keras (and torch) after it.
//   and the optimizers tfjs lacks (AdamW, Nadam, Ftrl, Lion).
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');

const N = 37;
const STEPS = 10;

// Deterministic inputs (the same recipe as oracle_common.make_inputs, from
// its own generator): element 0 is 0 with zero gradients, element 1 starts
// at 0, element 2 never gets a gradient, elements 3 and 4 have scales 1e-8
// and 100, the rest log-uniform scales in 1e-8..100; about one gradient in
// eight is exactly 0; two significant digits, rounded to float32.
function rng(seed) { // mulberry32
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeInputs(seed) {
  const r = rng(seed);
  const logU = () => Math.exp(Math.log(1e-8) + r() * (Math.log(100) - Math.log(1e-8)));
  const pscale = [0, 0, 1, 1e-8, 100];
  const gscale = [0, 1, 0, 100, 1e-8];
  while (pscale.length < N) {
    pscale.push(logU());
    gscale.push(logU());
  }
  const draw = (s) => {
    if (s === 0) return 0;
    const u = (0.1 + 0.9 * r()) * (r() < 0.5 ? 1 : -1);
    return Math.fround(Number((s * u).toPrecision(2)));
  };
  const param0 = pscale.map(draw);
  const grads = [];
  for (let t = 0; t < STEPS; t++) {
    grads.push(gscale.map((s) => {
      const v = draw(s);
      return r() < 0.125 ? 0 : v;
    }));
  }
  return { param0, grads };
}

// The shortest decimal that reads back as the float32 x, closer to x than
// half an ulp by a margin (2^-20 ulp), so that a correctly rounded strtof and
// strtod-then-(float) both give x.
function fmt32(x) {
  if (!Number.isFinite(x)) throw new Error(`non-finite value ${x}`);
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const e = Math.floor(Math.log2(Math.abs(x)));
  let ulp = Math.pow(2, Math.max(e - 23, -149));
  if (Math.abs(x) < Math.pow(2, e)) ulp /= 2; // log2 rounded up
  const margin = ulp * (0.5 - Math.pow(2, -20)) - Math.abs(x) * Math.pow(2, -52);
  for (let d = 1; d <= 9; d++) {
    const s = x.toPrecision(d);
    if (Math.fround(Number(s)) === x && Math.abs(Number(s) - x) < margin) {
      return /[.e]/.test(s) ? s : `${s}.0`;
    }
  }
  throw new Error(`no round-trip decimal for ${x}`);
}

const fmt64 = (x) => { // JS's shortest round-trip form, in JSON's syntax
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
};
const vec = (a) => `[${Array.from(a, fmt32).join(',')}]`;

// kernel: [defaults in optkern's (Keras's) names, tfjs constructor, state]
// state: optkern's state name -> the field of the tfjs optimizer that holds
// it (fields of tfjs-core's optimizer classes; getWeights() would do, but
// Adamax does not implement it).
const KERNELS = {
  sgd: [{ lr: 0.01 }, (h) => tf.train.sgd(h.lr), {}],
  sgd_momentum: [{ lr: 0.01, momentum: 0.9 }, (h) => tf.train.momentum(h.lr, h.momentum, false), {}],
  sgd_nesterov: [{ lr: 0.01, momentum: 0.9 }, (h) => tf.train.momentum(h.lr, h.momentum, true), {}],
  adagrad: [{ lr: 0.001, eps: 1e-7, initial_accumulator_value: 0.1 },
    (h) => tf.train.adagrad(h.lr, h.initial_accumulator_value), { acc: 'accumulatedGrads' }],
  adamax: [{ lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-7 },
    (h) => tf.train.adamax(h.lr, h.beta1, h.beta2, h.eps, 0), { m: 'accumulatedFirstMoment', u: 'accumulatedWeightedInfNorm' }],
  rmsprop: [{ lr: 0.001, rho: 0.9, eps: 1e-7 },
    (h) => tf.train.rmsprop(h.lr, h.rho, 0, h.eps, false), { v: 'accumulatedMeanSquares' }],
  rmsprop_momentum: [{ lr: 0.001, rho: 0.9, eps: 1e-7, momentum: 0.9 },
    (h) => tf.train.rmsprop(h.lr, h.rho, h.momentum, h.eps, false), { v: 'accumulatedMeanSquares', mom: 'accumulatedMoments' }],
};

const CASES = [
  ['sgd', 'defaults', {}],
  ['sgd', 'lr', { lr: 0.1 }],
  ['sgd_momentum', 'defaults', {}],
  ['sgd_momentum', 'lr_momentum', { lr: 0.1, momentum: 0.5 }],
  ['sgd_nesterov', 'defaults', {}],
  ['sgd_nesterov', 'lr_momentum', { lr: 0.1, momentum: 0.5 }],
  ['adagrad', 'defaults', {}],
  ['adagrad', 'lr_init', { lr: 0.1, initial_accumulator_value: 0.5 }],
  ['adamax', 'defaults', {}],
  ['adamax', 'betas_eps', { lr: 0.01, beta1: 0.5, beta2: 0.9, eps: 1e-6 }],
  ['rmsprop', 'defaults', {}],
  ['rmsprop', 'rho_eps', { lr: 0.01, rho: 0.5, eps: 1e-6 }],
  ['rmsprop_momentum', 'defaults', {}],
  ['rmsprop_momentum', 'rho_eps_momentum', { lr: 0.01, rho: 0.5, eps: 1e-6, momentum: 0.5 }],
];

async function runCase(kernel, label, overrides, seed) {
  const [defaults, make, stateMap] = KERNELS[kernel];
  for (const k of Object.keys(overrides)) {
    if (!(k in defaults)) throw new Error(`${kernel}: no hyperparameter ${k}`);
  }
  const hp = { ...defaults, ...overrides };
  const { param0, grads } = makeInputs(seed);
  const v = tf.variable(tf.tensor1d(param0, 'float32'), true, `p${seed}`);
  const opt = make(hp);
  const params = [];
  for (const g of grads) {
    const gt = tf.tensor1d(g, 'float32');
    opt.applyGradients({ [v.name]: gt });
    gt.dispose();
    params.push(v.dataSync().slice());
  }
  const state = [];
  for (const [name, field] of Object.entries(stateMap)) {
    const w = opt[field] && opt[field][0];
    if (!w) throw new Error(`${kernel}: the tfjs optimizer has no ${field}`);
    state.push(`"${name}":${vec(w.variable.dataSync())}`);
  }
  for (const row of params) {
    if (!row.every(Number.isFinite)) throw new Error(`${kernel} ${label}: non-finite parameter`);
  }
  opt.dispose();
  v.dispose();
  const hps = Object.entries(hp).map(([k, x]) => `"${k}":${fmt64(x)}`).join(',');
  return `{"kernel":"${kernel}","dtype":"f32","label":"${label}","hparams":{${hps}},` +
    `"n":${N},"steps":${STEPS},"param0":${vec(param0)},` +
    `"grads":[${grads.map(vec).join(',')}],"params":[${params.map(vec).join(',')}],` +
    `"state":{${state.join(',')}}}`;
}

async function main() {
  await tf.setBackend('cpu');
  const cases = [];
  for (let i = 0; i < CASES.length; i++) {
    cases.push(await runCase(CASES[i][0], CASES[i][1], CASES[i][2], 3000 + i));
  }
  const tool = `@tensorflow/tfjs-core ${tf.version_core} with @tensorflow/tfjs-backend-cpu ` +
    `(float32), Node.js ${process.versions.node}`;
  const out = path.join(__dirname, 'tfjs.json');
  fs.writeFileSync(out, `{"source":"tfjs","tool":"${tool}","generator":"tests/oracle/gen_tfjs.js",` +
    `"cases":[\n${cases.join(',\n')}\n]}\n`);
  console.log(`${out}: ${cases.length} cases`);
}

main().catch((e) => { console.error(e); process.exit(1); });
