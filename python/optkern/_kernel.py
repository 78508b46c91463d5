"""The NumPy-level API: a Kernel is one optimizer in one storage type."""
import ctypes

import numpy as np

from . import _lib

# Storage type -> the NumPy dtypes a param or grad may have.  NumPy has no
# bfloat16, so bf16 arrays travel as their raw 16-bit patterns (uint16); f16
# arrays may be float16 or raw uint16.
_STORAGE = {
    "f32": (np.dtype(np.float32),),
    "f64": (np.dtype(np.float64),),
    "bf16": (np.dtype(np.uint16),),
    "f16": (np.dtype(np.float16), np.dtype(np.uint16)),
}
_ALIASES = {
    "f32": "f32", "float32": "f32", "float": "f32",
    "f64": "f64", "float64": "f64", "double": "f64",
    "bf16": "bf16", "bfloat16": "bf16",
    "f16": "f16", "float16": "f16", "half": "f16",
}


def dtype_name(dtype):
    """'f32', 'f64', 'bf16' or 'f16' for a name or NumPy dtype ('float32',
    np.float32, 'bfloat16', ...); ValueError otherwise."""
    if isinstance(dtype, str):
        key = dtype.lower()
    else:
        try:
            key = np.dtype(dtype).name
        except TypeError:
            key = str(dtype)
    if key.startswith("torch."):  # torch.float32 and friends, without importing torch
        key = key[6:]
    if key not in _ALIASES:
        raise ValueError("optkern: unknown storage type %r (f32, f64, bf16, f16)" % (dtype,))
    return _ALIASES[key]


class Kernel:
    """One optimizer x one storage type from the registry.

    Attributes: name, dtype ('f32', 'f64', 'bf16', 'f16'), hparam_names,
    hparam_defaults (dict), state_names, state_dtype (float64 for f64
    kernels, float32 for the rest)."""

    def __init__(self, handle):
        self._k = handle
        self.name = _lib.optk_name(handle).decode()
        self.dtype = _lib.DTYPES[_lib.optk_dtype_of(handle)]
        nh = _lib.optk_nhparams(handle)
        self.hparam_names = tuple(_lib.optk_hparam_name(handle, i).decode() for i in range(nh))
        self.hparam_defaults = {n: _lib.optk_hparam_default(handle, i)
                                for i, n in enumerate(self.hparam_names)}
        ns = _lib.optk_nstate(handle)
        self.state_names = tuple(_lib.optk_state_name(handle, i).decode() for i in range(ns))
        self.state_dtype = np.dtype(np.float64 if self.dtype == "f64" else np.float32)
        self._index = {n: i for i, n in enumerate(self.hparam_names)}

    def __repr__(self):
        return "<optkern.Kernel %s %s hparams=%s state=%s>" % (
            self.name, self.dtype, list(self.hparam_names), list(self.state_names))

    @property
    def handle(self):
        """The optk_kernel pointer, as an int (for ctypes)."""
        return self._k

    def hparams(self, **overrides):
        """The hyperparameters in the kernel's order as a ctypes double array:
        the defaults with `overrides` applied.  Booleans become 0 or 1."""
        hp = (ctypes.c_double * max(1, len(self.hparam_names)))()
        for i, n in enumerate(self.hparam_names):
            hp[i] = self.hparam_defaults[n]
        for n, v in overrides.items():
            i = self._index.get(n)
            if i is None:
                raise TypeError("optkern: %s has no hyperparameter %r (it has %s)"
                                % (self.name, n, ", ".join(self.hparam_names) or "none"))
            hp[i] = float(v)
        return hp

    def init_state(self, shape, **hparams):
        """New state arrays (a list in state_names order) for a param of this
        shape (or for this param array), set to their initial values."""
        if isinstance(shape, np.ndarray):
            shape = shape.shape
        state = [np.empty(shape, dtype=self.state_dtype) for _ in self.state_names]
        n = int(np.prod(shape, dtype=np.int64))
        ptrs = (ctypes.c_void_p * max(1, len(state)))(*[a.ctypes.data for a in state])
        err = _lib.optk_init_state(self._k, n, ptrs, self.hparams(**hparams))
        if err != _lib.OK:
            raise ValueError("optkern: %s init_state: %s (hyperparameters %s)"
                             % (self.name, _lib.strerror(err), hparams))
        return state

    def _check_array(self, what, a, dtypes, shape):
        if not isinstance(a, np.ndarray):
            raise TypeError("optkern: %s %s must be a NumPy array, not %s" % (self.name, what, type(a).__name__))
        if a.dtype not in dtypes:
            raise TypeError("optkern: %s (%s) %s has dtype %s; expected %s" % (
                self.name, self.dtype, what, a.dtype, " or ".join(str(d) for d in dtypes)))
        if not a.flags.c_contiguous:
            raise ValueError("optkern: %s %s is not C-contiguous (use np.ascontiguousarray)" % (self.name, what))
        if shape is not None and a.size != int(np.prod(shape, dtype=np.int64)):
            raise ValueError("optkern: %s %s has %d elements; param has %d"
                             % (self.name, what, a.size, int(np.prod(shape, dtype=np.int64))))

    def step(self, param, grad, state, t, isa=None, **hparams):
        """One step in place: param and the state arrays are updated, grad is
        read.  t is the 1-based step number; hyperparameters not given take
        their defaults; isa ('scalar', 'avx2', ...) forces one ISA."""
        self._check_array("param", param, _STORAGE[self.dtype], None)
        if not param.flags.writeable:
            raise ValueError("optkern: %s param is read-only" % self.name)
        self._check_array("grad", grad, _STORAGE[self.dtype], param.shape)
        state = list(state)
        if len(state) != len(self.state_names):
            raise ValueError("optkern: %s takes %d state arrays (%s), got %d" % (
                self.name, len(self.state_names), ", ".join(self.state_names), len(state)))
        for name, s in zip(self.state_names, state):
            self._check_array("state %r" % name, s, (self.state_dtype,), param.shape)
            if not s.flags.writeable:
                raise ValueError("optkern: %s state %r is read-only" % (self.name, name))
        if isinstance(t, bool) or int(t) != t:
            raise TypeError("optkern: t must be an integer step number, not %r" % (t,))
        hp = self.hparams(**hparams)
        ptrs = (ctypes.c_void_p * max(1, len(state)))(*[s.ctypes.data for s in state])
        if isa is None:
            err = _lib.optk_step(self._k, param.size, param.ctypes.data, grad.ctypes.data, ptrs, hp, int(t))
        else:
            if isa not in _lib.ISAS:
                raise ValueError("optkern: unknown ISA %r (%s)" % (isa, ", ".join(_lib.ISAS)))
            err = _lib.optk_step_isa(self._k, _lib.ISAS.index(isa), param.size, param.ctypes.data,
                                     grad.ctypes.data, ptrs, hp, int(t))
        if err == _lib.ENOTSUP:
            raise RuntimeError("optkern: ISA %s is not available on this CPU or build" % isa)
        if err == _lib.ENOMEM:  # a two-phase kernel's scratch (lamb); nothing was written
            raise MemoryError("optkern: %s step: %s" % (self.name, _lib.strerror(err)))
        if err != _lib.OK:
            raise ValueError("optkern: %s step refused: %s (t=%r, hyperparameters %s)" % (
                self.name, _lib.strerror(err), t,
                {n: hp[i] for i, n in enumerate(self.hparam_names)}))


_cache = {}


def find(name, dtype="f32"):
    """The kernel `name` for storage type `dtype` ('f32', 'f64', 'bf16',
    'f16', or a NumPy/torch dtype name); KeyError if the registry lacks it."""
    d = dtype_name(dtype)
    key = (name, d)
    k = _cache.get(key)
    if k is None:
        handle = _lib.optk_find(name.encode(), _lib.DTYPES.index(d)) if isinstance(name, str) else None
        if not handle:
            raise KeyError("optkern: no kernel %r for %s (known: %s)" % (
                name, d, ", ".join(sorted({n for n, _ in kernels()}))))
        k = _cache[key] = Kernel(handle)
    return k


def kernels():
    """Every (name, dtype) pair in the registry, in registry order."""
    out = []
    for i in range(_lib.optk_count()):
        h = _lib.optk_at(i)
        out.append((_lib.optk_name(h).decode(), _lib.DTYPES[_lib.optk_dtype_of(h)]))
    return out
