"""Shared helpers for optkern's Python tests.

Run from the source tree (`ninja` first, for build/liboptkern.so):
    /usr/bin/python3 -m pytest python/tests
The package is imported from python/ unless an installed one is importable
(a virtual environment after `pip install ./python`)."""
import contextlib
import importlib.util
import os
import sys

import pytest

if importlib.util.find_spec("optkern") is None:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import optkern  # noqa: E402


def have_kernel(name):
    return any(n == name for n, _ in optkern.kernels())


def need_kernels(*names):
    """Fails, naming them, where the library lacks these kernels (an old
    build/liboptkern.so: run `ninja`)."""
    missing = [n for n in names if not have_kernel(n)]
    if missing:
        pytest.fail("library %s lacks kernels %s (rebuild it with `ninja`)" % (
            optkern.library_path, ", ".join(missing)))


@contextlib.contextmanager
def default_dtype(dtype):
    import torch
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)
