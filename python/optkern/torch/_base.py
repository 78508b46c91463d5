"""The machinery every optkern.torch optimizer shares: a torch.optim.Optimizer
whose step hands the parameters of each param group to one optkern kernel.

What does not change between steps (the kernel, the state tensors and their
pointer arrays, the element counts) is cached per param group in a _Plan; a
step then costs, per tensor, a few attribute reads that re-check what the
kernel relies on (dtype, size, contiguity, CPU), the two data pointers, and
its share of one C call (optk_step_group where the library has it, else one
optk_step per tensor).  The cache is rebuilt when the groups, their options
or the optimizer's state are replaced (load_state_dict, ZeroRedundancyOptimizer
writing optimizer.state[p]) or when a parameter gets its first gradient.

State lives in optimizer.state in torch's own format and names (the kernels
name their state arrays as torch does), so state_dict() and
load_state_dict() move checkpoints both ways.  Two torch conventions need
care: 'step' is a 0-dim tensor for most optimizers (kept here as views of one
tensor per bucket, so a step costs one fill_, not one add_ per parameter;
state_dict() gives independent copies), and bf16/f16 parameters keep f32
state (the kernels compute in f32), which torch casts to the parameter's
dtype when it loads such a checkpoint.
"""
import ctypes
from collections import defaultdict
from copy import deepcopy
from itertools import chain

import numpy as np
import torch

import optkern
from optkern import _lib
from optkern._kernel import find

_STORAGE = {torch.float32: "f32", torch.float64: "f64", torch.bfloat16: "bf16", torch.float16: "f16"}
_STATE_DTYPE = {torch.float32: torch.float32, torch.float64: torch.float64,
                torch.bfloat16: torch.float32, torch.float16: torch.float32}
_TABLE_FIELDS = 5  # optk_tensor: n, param, grad, state, master -- 8 bytes each on LP64
_GROUP = _lib.optk_step_group if ctypes.sizeof(ctypes.c_void_p) == 8 == ctypes.sizeof(ctypes.c_size_t) else None
_synced_threads = [None]  # the torch thread count last handed to the library


def _counting(base, names):
    """Methods of `base` that count a change in self._ver[0] first."""
    def make(name):
        def method(self, *args, **kwargs):
            self._ver[0] += 1
            return getattr(base, name)(self, *args, **kwargs)
        method.__name__ = name
        return method
    return {name: make(name) for name in names}


_CHANGES = ("__setitem__", "__delitem__", "clear", "pop", "popitem", "update", "setdefault")


class _State(defaultdict):
    """optimizer.state that counts changes to its entries and to the dicts
    they hold (_Entry), so that cached plans notice state put in from
    outside: ZeroRedundancyOptimizer.load_state_dict assigns
    optimizer.state[p], a user may reset state[p]['exp_avg']."""

    def __init__(self, default_factory=dict, *args, **kwargs):
        self._ver = [0]
        super().__init__(default_factory, *args, **kwargs)

    locals().update(_counting(defaultdict, _CHANGES))

    @property
    def version(self):
        return self._ver[0]

    def __reduce__(self):
        return (_State, (dict,), None, None, iter(self.items()))


class _Entry(dict):
    """One parameter's state: a dict that counts its changes into its
    optimizer's _State.  Copies and pickles are plain dicts."""

    __slots__ = ("_ver",)
    locals().update(_counting(dict, _CHANGES))

    def __reduce__(self):
        return (dict, (dict(self),))


def _describe(cls, gi, i, p):
    return "%s: parameter %d of param group %d (shape %s, %s)" % (
        cls, i, gi, list(p.shape), str(p.dtype).replace("torch.", ""))


def _check_param(cls, gi, i, p):
    if p.layout is not torch.strided:
        raise RuntimeError(_describe(cls, gi, i, p) + " is sparse (layout %s); optkern steps dense tensors only"
                           % p.layout)
    if p.is_complex():
        raise TypeError(_describe(cls, gi, i, p) + " is complex; optkern steps real float32, float64, "
                        "bfloat16 and float16 tensors (view it with torch.view_as_real)")
    if p.dtype not in _STORAGE:
        raise TypeError(_describe(cls, gi, i, p) + " has a dtype optkern does not step (float32, float64, "
                        "bfloat16, float16)")
    if not p.is_cpu:
        raise RuntimeError(_describe(cls, gi, i, p) + " is on device %s; optkern steps CPU tensors only"
                           % p.device)


def _check_grad(cls, gi, i, p, g):
    if g.layout is not torch.strided:
        raise RuntimeError(_describe(cls, gi, i, p) + " has a sparse gradient (layout %s); optkern steps dense "
                           "gradients only (torch.optim.SparseAdam takes sparse ones)" % g.layout)
    if g.is_complex():
        raise TypeError(_describe(cls, gi, i, p) + " has a complex gradient")
    if not g.is_cpu:
        raise RuntimeError(_describe(cls, gi, i, p) + " has its gradient on device %s; optkern steps "
                           "CPU tensors only" % g.device)
    if g.dtype is not p.dtype:
        raise TypeError(_describe(cls, gi, i, p) + " has a gradient of dtype %s; it must match the "
                        "parameter's" % str(g.dtype).replace("torch.", ""))
    if g.numel() != p.numel():
        raise RuntimeError(_describe(cls, gi, i, p) + " has a gradient of shape %s" % list(g.shape))


class _Bucket:
    """The parameters of one param group that share a storage type, hence
    one kernel, with everything about them that stays fixed between steps."""

    def __init__(self, kernel, tdtype):
        self.kernel = kernel
        self.kptr = kernel.handle
        self.tdtype = tdtype
        self.hp = kernel.hparams()
        self.hp_addr = ctypes.addressof(self.hp)
        self.params, self.states, self.tensors, self.numels, self.counts = [], [], [], [], []
        self.index = []  # position of each entry in the group's param list

    def finish(self, step_format, ddtype):
        n = len(self.params)
        keep = []
        self.sptrs = []
        for ts in self.tensors:
            arr = (ctypes.c_void_p * max(1, len(ts)))(*[t.data_ptr() for t in ts])
            keep.append(arr)
            self.sptrs.append(ctypes.addressof(arr))
        self._keep = keep
        self.uniform = n > 0 and self.counts.count(self.counts[0]) == n
        if _GROUP is not None:
            self.table = np.zeros((max(1, n), _TABLE_FIELDS), dtype=np.uint64)
            self.table[:n, 0] = self.numels
            self.table[:n, 3] = self.sptrs
            self.table_addr = self.table.ctypes.data
        self.step_store = None
        if step_format == "tensor" and n:
            self.step_store = torch.tensor([float(c) for c in self.counts], dtype=ddtype)
            for j, st in enumerate(self.states):
                dict.__setitem__(st, "step", self.step_store[j])
        elif step_format == "int":
            for st, c in zip(self.states, self.counts):
                dict.__setitem__(st, "step", c)


class _Plan:
    def __init__(self, group, key):
        self.group = group
        self.params_list = group["params"]
        self.nparams = len(self.params_list)
        self.key = key
        self.buckets = []
        self.orphans = []  # params with neither state nor (so far) a gradient


class Optimizer(torch.optim.Optimizer):
    """Base class: subclasses give the constructor (torch's signature and
    checks) and _kernel(group) -> (kernel name, {hyperparameter: value})."""

    _step_format = "tensor"  # how state['step'] is kept: 'tensor', 'int' or None (no step)
    _unsupported = ()  # group options that must be False: (name, why)
    _group_defaults = {}  # setdefault on loaded groups, as torch's __setstate__ does

    def __init__(self, params, defaults):
        super().__init__(params, defaults)
        self._reset_plans()

    # ---- state bookkeeping -------------------------------------------------

    def _reset_plans(self):
        if not isinstance(self.state, _State):
            self.state = _State(dict, self.state)
        self._plans = []
        self._seen = None

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            for k, v in self._group_defaults.items():
                group.setdefault(k, v)
        self._reset_plans()

    def _kernel(self, group):
        raise NotImplementedError

    def _hparams_at(self, group, b, t):
        """A ctypes array of hyperparameters for step t where they depend on
        t, or None for the bucket's own (b.hp)."""
        return None

    def _state_dtype(self, p):
        return _STATE_DTYPE[p.dtype]

    def _count_of(self, st, had_all):
        if self._step_format is None:
            return 1 if had_all else 0
        s = st.get("step", 0)
        if isinstance(s, torch.Tensor):
            s = s.item()
        return int(s)

    def _initial_values(self, kernel, hp):
        """Initial value of each state array: the kernel sets its state from
        the hyperparameters (Adagrad's initial_accumulator_value), the same
        value for every element, so one element tells."""
        if not kernel.state_names:
            return []
        one = [np.empty(1, dtype=kernel.state_dtype) for _ in kernel.state_names]
        ptrs = (ctypes.c_void_p * len(one))(*[a.ctypes.data for a in one])
        err = _lib.optk_init_state(kernel.handle, 1, ptrs, kernel.hparams(**hp))
        if err != _lib.OK:
            raise ValueError("%s: hyperparameters refused by optkern kernel %s: %s (%s)" % (
                type(self).__name__, kernel.name, _lib.strerror(err), hp))
        return [float(a[0]) for a in one]

    def _entry_state(self, cls, gi, i, p, st, kernel, init):
        """The state tensors of p in kernel order, adopted from st where they
        are usable, converted where they are not, created where missing."""
        sdt = self._state_dtype(p)
        out, had_all = [], True
        for name, v0 in zip(kernel.state_names, init):
            v = st.get(name)
            if isinstance(v, torch.Tensor):
                if v.numel() != p.numel():
                    raise ValueError("%s: state %r of %s has %d elements, the parameter %d" % (
                        cls, name, _describe(cls, gi, i, p), v.numel(), p.numel()))
                if not (v.dtype is sdt and v.is_cpu and v.is_contiguous() and not v.is_sparse):
                    v = v.detach().to(device="cpu", dtype=sdt).reshape(p.shape).contiguous()
                    st[name] = v
            else:
                had_all = False
                v = torch.full(p.shape, v0, dtype=sdt)
                st[name] = v
            out.append(v)
        return out, had_all

    def _init_state_now(self, gi, group):
        """Creates the state of every parameter of group gi (torch's Adagrad
        does this in its constructor)."""
        name, hp = self._kernel(group)
        cls = type(self).__name__
        for i, p in enumerate(group["params"]):
            _check_param(cls, gi, i, p)
            kernel = find(name, _STORAGE[p.dtype])
            st = self.state[p]
            self._entry_state(cls, gi, i, p, st, kernel, self._initial_values(kernel, hp))
            if self._step_format == "tensor":
                st["step"] = torch.tensor(0.0)
            elif self._step_format == "int":
                st["step"] = 0

    def _build(self, gi, group, grads):
        cls = type(self).__name__
        for opt, why in self._unsupported:
            if group.get(opt):
                raise RuntimeError("%s: %s=True is not supported by optkern (%s)" % (cls, opt, why))
        name, hp = self._kernel(group)
        plan = _Plan(group, (name, tuple(hp.items())))
        buckets = {}
        inits = {}
        state = self.state
        for i, p in enumerate(plan.params_list):
            st = dict.get(state, p)
            if not st and grads[i] is None:
                plan.orphans.append(p)
                continue
            _check_param(cls, gi, i, p)
            b = buckets.get(p.dtype)
            if b is None:
                kernel = find(name, _STORAGE[p.dtype])
                b = buckets[p.dtype] = _Bucket(kernel, p.dtype)
                inits[p.dtype] = self._initial_values(kernel, hp)
            if type(st) is not _Entry:  # count changes made to it from now on
                st = _Entry(st or ())
                st._ver = state._ver
                state[p] = st
            self._on_new_entry(st)
            ts, had_all = self._entry_state(cls, gi, i, p, st, b.kernel, inits[p.dtype])
            b.params.append(p)
            b.states.append(st)
            b.tensors.append(ts)
            b.numels.append(p.numel())
            b.counts.append(self._count_of(st, had_all and bool(ts)))
            b.index.append(i)
        ddtype = torch.get_default_dtype()
        for b in buckets.values():
            b.finish(self._step_format, ddtype)
            self._finish_bucket(b, group)
        plan.buckets = list(buckets.values())
        self._set_hparams(plan, hp)
        return plan

    def _on_new_entry(self, st):
        """Adds what torch keeps in a state entry beyond the kernel's arrays."""

    def _finish_bucket(self, b, group):
        """Per-optimizer scalar state beyond 'step' (NAdam's mu_product)."""

    def _set_hparams(self, plan, hp):
        cls = type(self).__name__
        for b in plan.buckets:
            for n, v in hp.items():
                # An option the kernel lacks may only be asked for at its
                # off value (a 2.x-only switch against an older kernel).
                if n not in b.kernel.hparam_names and v:
                    raise ValueError("%s: optkern kernel %s has no hyperparameter %r; %s=%r is not supported"
                                     % (cls, b.kernel.name, n, n, v))
            for j, n in enumerate(b.kernel.hparam_names):
                b.hp[j] = float(hp[n]) if n in hp else b.kernel.hparam_defaults[n]
            self._check_hparams(cls, b, hp)

    def _check_hparams(self, cls, b, hp):
        # A zero-length step runs every check of the hyperparameters and
        # touches nothing: refusals surface here, before any tensor moves.
        err = _lib.optk_step(b.kptr, 0, None, None, None, b.hp_addr, 1)
        if err != _lib.OK:
            raise ValueError("%s: hyperparameters outside the domain of optkern kernel %s: %s" % (
                cls, b.kernel.name, {n: b.hp[j] for j, n in enumerate(b.kernel.hparam_names)}))

    def _plan(self, gi, group):
        plans = self._plans
        if self._seen != self.state.version or not isinstance(self.state, _State):
            if not isinstance(self.state, _State):
                self.state = _State(dict, self.state)
            plans.clear()
            self._seen = self.state.version
        plan = plans[gi] if gi < len(plans) else None
        params = group["params"]
        if plan is None or plan.group is not group or plan.params_list is not params \
                or plan.nparams != len(params) or any(p.grad is not None for p in plan.orphans):
            plan = None
        else:
            name, hp = self._kernel(group)
            key = (name, tuple(hp.items()))
            if key != plan.key:
                if name != plan.key[0]:
                    plan = None
                else:
                    plan.key = key
                    self._set_hparams(plan, hp)
        if plan is None:
            plan = self._build(gi, group, [p.grad for p in params])
            while len(plans) <= gi:
                plans.append(None)
            plans[gi] = plan
            self._seen = self.state.version
        return plan

    # ---- the step ----------------------------------------------------------

    def _sync_threads(self):
        if optkern._explicit_threads is None:
            n = torch.get_num_threads()
            if _synced_threads[0] != n or optkern._threads_reset:
                _lib.optk_set_num_threads(n)
                _synced_threads[0] = n
                optkern._threads_reset = False

    def _prepare(self, gi, b, cls):
        """Checks every tensor of bucket b and gathers its pointers; returns
        the work for this step, or None when no parameter has a gradient."""
        params = b.params
        grads = [p.grad for p in params]
        D = b.tdtype
        try:
            fast = all([p.dtype is D and g.dtype is D and p.is_cpu and g.is_cpu and p.is_contiguous()
                        and g.is_contiguous() and p.numel() == n and g.numel() == n
                        for p, g, n in zip(params, grads, b.numels)])
        except (AttributeError, RuntimeError):  # a gradient is None, or sparse
            fast = False
        if fast and b.uniform:
            try:
                return (b, None, [p.data_ptr() for p in params], [g.data_ptr() for g in grads], None, grads)
            except RuntimeError:  # a layout without plain storage (sparse): refused below
                pass
        # The general case: parameters without a gradient, copies for
        # non-contiguous tensors, or parameters at different step counts.
        idx, pp, gp, staged, keep = [], [], [], [], []
        for j, (p, g) in enumerate(zip(params, grads)):
            if g is None:
                continue
            i = b.index[j]
            if p.dtype is not D or p.numel() != b.numels[j] or not p.is_cpu:
                _check_param(cls, gi, i, p)
                raise RuntimeError(_describe(cls, gi, i, p) + " changed dtype, size or device since its "
                                   "optimizer state was made")
            _check_grad(cls, gi, i, p, g)
            if not g.is_contiguous():
                g = g.contiguous()
            keep.append(g)
            if not p.is_contiguous():
                tmp = p.contiguous()
                staged.append((p, tmp))
                pp.append(tmp.data_ptr())
            else:
                pp.append(p.data_ptr())
            gp.append(g.data_ptr())
            idx.append(j)
        if not idx:
            return None
        return (b, idx, pp, gp, staged, keep)

    def _run(self, group, work):
        b, idx, pp, gp, staged, _keep = work
        counts = b.counts
        if idx is None:  # every entry, one step count
            self._call(group, b, None, pp, gp, counts[0] + 1)
            t = counts[0] + 1
            b.counts = counts = [t] * len(counts)
            if b.step_store is not None:
                b.step_store.fill_(float(t))
            elif self._step_format == "int":
                setitem = dict.__setitem__  # not counted as a change from outside
                for st in b.states:
                    setitem(st, "step", t)
            self._after_step(b, None, group)
        else:
            by_t = {}
            for k, j in enumerate(idx):
                by_t.setdefault(counts[j] + 1, []).append(k)
            for t, ks in sorted(by_t.items()):
                self._call(group, b, [idx[k] for k in ks], [pp[k] for k in ks], [gp[k] for k in ks], t)
            for p, tmp in staged:
                p.copy_(tmp)
            for j in idx:
                counts[j] += 1
                if self._step_format == "int":
                    dict.__setitem__(b.states[j], "step", counts[j])
            if b.step_store is not None:
                b.step_store.copy_(torch.tensor([float(c) for c in counts], dtype=b.step_store.dtype))
            b.uniform = counts.count(counts[0]) == len(counts)
            self._after_step(b, idx, group)

    def _call(self, group, b, idx, pp, gp, t):
        hpa = self._hparams_at(group, b, t)
        if hpa is None:
            addr = b.hp_addr
        else:
            addr = ctypes.addressof(hpa)
            err = _lib.optk_step(b.kptr, 0, None, None, None, addr, t)
            if err != _lib.OK:
                raise ValueError("%s: hyperparameters at step %d outside the domain of optkern kernel %s: %s"
                                 % (type(self).__name__, t, b.kernel.name, list(hpa)))
        if _GROUP is not None:
            if idx is None:
                table, n = b.table, len(pp)
            else:
                n = len(idx)
                table = np.zeros((n, _TABLE_FIELDS), dtype=np.uint64)
                table[:, 0] = [b.numels[j] for j in idx]
                table[:, 3] = [b.sptrs[j] for j in idx]
            table[:n, 1] = pp
            table[:n, 2] = gp
            err = _GROUP(b.kptr, n, table.ctypes.data, addr, t, None, None)
        else:
            step, k, numels, sptrs = _lib.optk_step, b.kptr, b.numels, b.sptrs
            err = _lib.OK
            js = range(len(pp)) if idx is None else idx
            for j, p, g in zip(js, pp, gp):
                err = step(k, numels[j], p, g, sptrs[j], addr, t) or err
        if err != _lib.OK:
            raise RuntimeError("%s: optkern kernel %s refused the step: %s" % (
                type(self).__name__, b.kernel.name, _lib.strerror(err)))

    def _after_step(self, b, idx, group):
        """Per-optimizer bookkeeping after a step of the entries idx (None: all)."""

    @torch.no_grad()
    def step(self, closure=None):
        """Performs a single optimization step; returns the closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self._sync_threads()
        cls = type(self).__name__
        # Check and gather everything first, so that bad input raises before
        # any tensor is written.
        todo = []
        for gi, group in enumerate(self.param_groups):
            plan = self._plan(gi, group)
            for b in plan.buckets:
                w = self._prepare(gi, b, cls)
                if w is not None:
                    todo.append((group, w))
        for group, w in todo:
            self._run(group, w)
        return loss

    # ---- checkpoints -------------------------------------------------------

    def _export_entry(self, p, st):
        """A state entry as state_dict() gives it: independent copies of the
        0-dim tensors that are views of a bucket's shared step tensor."""
        out = dict(st)
        for k, v in st.items():
            if isinstance(v, torch.Tensor) and v.dim() == 0:
                out[k] = v.clone()
        return out

    def state_dict(self):
        sd = super().state_dict()
        params = list(chain.from_iterable(g["params"] for g in self.param_groups))
        index = {}
        for g in sd["param_groups"]:
            for i in g["params"]:
                index[i] = params[len(index)]
        sd["state"] = {k: (self._export_entry(index[k], v) if k in index else v) for k, v in sd["state"].items()}
        return sd

    def load_state_dict(self, state_dict):
        """torch.optim.Optimizer.load_state_dict, except that the state of a
        bfloat16/float16 parameter stays float32 (the kernels keep it so)."""
        state_dict = deepcopy(state_dict)
        groups = self.param_groups
        saved_groups = state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, key=None):
            if isinstance(value, torch.Tensor):
                if key not in ("step", "mu_product"):
                    if param.is_floating_point() and value.is_floating_point():
                        value = value.to(self._state_dtype(param) if param.dtype in _STATE_DTYPE else param.dtype)
                    value = value.to(param.device)
                return value
            if isinstance(value, dict):
                return {k: cast(param, v, key=k) for k, v in value.items()}
            return value

        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                state[id_map[k]] = cast(id_map[k], v)
            else:
                state[k] = v
        param_groups = []
        for g, ng in zip(groups, saved_groups):
            ng["params"] = g["params"]
            param_groups.append(ng)
        self.__setstate__({"state": state, "param_groups": param_groups})
