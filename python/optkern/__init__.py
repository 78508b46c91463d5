"""optkern: fast, bit-reproducible optimizer steps for the CPU.

NumPy level (no torch needed):

    import numpy as np, optkern
    k = optkern.find("adam", "f32")          # Keras flavour; "torch_adamw" etc. for PyTorch's
    w = np.zeros(1000, np.float32); g = np.ones_like(w)
    state = k.init_state(w)                  # [m, v]
    for t in range(1, 11):
        k.step(w, g, state, t, lr=1e-3)

PyTorch level: `import optkern.torch` (SGD, Adam, AdamW, ... as
torch.optim.Optimizer subclasses, and DeepSpeedCPUAdam).
"""
from . import _lib
from ._kernel import Kernel, find, kernels, dtype_name

__all__ = ["Kernel", "find", "kernels", "dtype_name", "active_isa", "isa_available", "isa_names",
           "set_num_threads", "get_num_threads", "library_path"]
__version__ = "0.1.0"

library_path = _lib.path
isa_names = _lib.ISAS

# None: nobody chose a count.  optkern.torch then follows
# torch.get_num_threads(); the bare library uses its own default.
_explicit_threads = None
_threads_reset = False  # set_num_threads was called: optkern.torch re-applies torch's count


def active_isa():
    """The ISA optk_step uses: 'scalar', 'avx2', 'avx512', 'neon' or 'sve'."""
    return _lib.ISAS[_lib.optk_active_isa()]


def isa_available(isa):
    """Whether this CPU and build run `isa`."""
    if isa not in _lib.ISAS:
        raise ValueError("optkern: unknown ISA %r (%s)" % (isa, ", ".join(_lib.ISAS)))
    return bool(_lib.optk_isa_available(_lib.ISAS.index(isa)))


def set_num_threads(n):
    """Threads for large steps.  A positive n fixes the count; 0 or None
    restores the default (torch.get_num_threads() under optkern.torch, else
    OPTK_NUM_THREADS or every online core)."""
    global _explicit_threads, _threads_reset
    if n is None:
        n = 0
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise ValueError("optkern: thread count must be a non-negative integer, not %r" % (n,))
    _lib.optk_set_num_threads(int(n))
    _explicit_threads = int(n) if n > 0 else None
    _threads_reset = True


def get_num_threads():
    """The thread count large steps use now."""
    return _lib.optk_get_num_threads()
