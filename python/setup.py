"""Builds the optkern package with its own compiled copy of the library.

The library is the runtime (runtime/*.c) and the committed generated kernels
(generated/kernels_*.c, generated/optimizers.c) of the source tree around
this directory, compiled in one compiler command into optkern/liboptkern.so,
with the flags the ninja build gives them: every kernel carries its own
target attribute, and floating-point contraction stays off so that the
generator decides every fused multiply-add.  CC picks the compiler."""
import glob
import os
import shlex
import subprocess

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.dist import Distribution

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
CFLAGS = ["-std=c11", "-O2", "-ffp-contract=off", "-fPIC", "-pthread"]


def sources():
    runtime = os.path.join(ROOT, "runtime")
    generated = os.path.join(ROOT, "generated")
    if not os.path.isfile(os.path.join(runtime, "optkern.h")) or not os.path.isdir(generated):
        raise SystemExit("optkern: setup.py builds from the optkern source tree; %s has no runtime/ and "
                         "generated/" % ROOT)
    return (sorted(glob.glob(os.path.join(runtime, "*.c")))
            + sorted(glob.glob(os.path.join(generated, "kernels_*.c")))
            + [os.path.join(generated, "optimizers.c")])


class BuildLibrary(build_ext):
    """Compiles liboptkern.so into the package (no Python extension module:
    the package binds it with ctypes)."""

    def run(self):
        out_dir = os.path.join(os.path.abspath(self.build_lib), "optkern")
        if self.inplace:
            out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optkern")
        os.makedirs(out_dir, exist_ok=True)
        out = os.path.join(out_dir, "liboptkern.so")
        cc = shlex.split(os.environ.get("CC", "cc"))
        cmd = cc + CFLAGS + ["-shared", "-I", os.path.join(ROOT, "runtime"), "-I", os.path.join(ROOT, "generated"),
                             "-o", out] + sources() + ["-lm"]
        print(" ".join(shlex.quote(c) for c in cmd))
        subprocess.check_call(cmd)

    def get_outputs(self):
        return [os.path.join(os.path.abspath(self.build_lib), "optkern", "liboptkern.so")]


class BinaryDistribution(Distribution):
    def has_ext_modules(self):  # a platform wheel: it carries a compiled library
        return True


setup(cmdclass={"build_ext": BuildLibrary}, distclass=BinaryDistribution)
