"""Finds and loads the optkern C library, and declares its functions for ctypes.

Where the library comes from, first match wins:
  1. the file named by the environment variable OPTKERN_LIBRARY;
  2. the library a `pip install` of this package compiled into it
     (optkern/liboptkern.so, next to this file);
  3. build/liboptkern.so of the source tree this package lives in
     (python/optkern/ -> ../../build/), as `ninja` builds it.
"""
import ctypes
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
_CANDIDATES = (
    os.path.join(_HERE, "liboptkern.so"),
    os.path.join(_HERE, os.pardir, os.pardir, "build", "liboptkern.so"),
)


def _locate():
    env = os.environ.get("OPTKERN_LIBRARY")
    if env:
        if not os.path.isfile(env):
            raise ImportError("optkern: OPTKERN_LIBRARY names %r, which is not a file" % env)
        return env
    for path in _CANDIDATES:
        if os.path.isfile(path):
            return os.path.normpath(path)
    raise ImportError(
        "optkern: no compiled library found.  Either run `ninja` in the source tree "
        "(it builds build/liboptkern.so, which this package finds), install the package "
        "with `pip install --no-build-isolation ./python` (it compiles its own copy), or "
        "set OPTKERN_LIBRARY to a liboptkern.so.  Looked in: " + ", ".join(
            os.path.normpath(p) for p in _CANDIDATES))


path = _locate()
lib = ctypes.CDLL(path)

_p = ctypes.c_void_p
_i = ctypes.c_int
_sz = ctypes.c_size_t
_i64 = ctypes.c_int64
_d = ctypes.c_double
_s = ctypes.c_char_p


def _decl(name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


optk_find = _decl("optk_find", _p, _s, _i)
optk_count = _decl("optk_count", _sz)
optk_at = _decl("optk_at", _p, _sz)
optk_name = _decl("optk_name", _s, _p)
optk_dtype_of = _decl("optk_dtype_of", _i, _p)
optk_nstate = _decl("optk_nstate", _i, _p)
optk_state_name = _decl("optk_state_name", _s, _p, _i)
optk_nhparams = _decl("optk_nhparams", _i, _p)
optk_hparam_name = _decl("optk_hparam_name", _s, _p, _i)
optk_hparam_default = _decl("optk_hparam_default", _d, _p, _i)
optk_init_state = _decl("optk_init_state", _i, _p, _sz, _p, _p)
# Pointers travel as plain Python ints (c_void_p argtypes accept them), the
# cheapest form ctypes converts.
optk_step = _decl("optk_step", _i, _p, _sz, _p, _p, _p, _p, _i64)
optk_step_isa = _decl("optk_step_isa", _i, _p, _i, _sz, _p, _p, _p, _p, _i64)
optk_active_isa = _decl("optk_active_isa", _i)
optk_isa_available = _decl("optk_isa_available", _i, _i)
optk_isa_name = _decl("optk_isa_name", _s, _i)
optk_strerror = _decl("optk_strerror", _s, _i)
optk_set_num_threads = _decl("optk_set_num_threads", _i, _i)
optk_get_num_threads = _decl("optk_get_num_threads", _i)

# The group step (one call for a list of tensors), where the library has it.
if hasattr(lib, "optk_step_group"):
    optk_step_group = _decl("optk_step_group", _i, _p, _sz, _p, _p, _i64, _p, _p)
else:
    optk_step_group = None

OK, EINVAL, ENOTSUP, ENOMEM = 0, -1, -2, -3
DTYPES = ("f32", "f64", "bf16", "f16")  # optk_dtype's order


def _isa_names():
    """The library's ISA names in optk_isa order (optk_isa_name is NULL past the last)."""
    names = []
    while True:
        n = optk_isa_name(len(names))
        if not n:
            return tuple(names)
        names.append(n.decode())


ISAS = _isa_names()  # optk_isa's order, as the library lists them


def strerror(err):
    s = optk_strerror(err)
    return s.decode() if s else "error %d" % err
