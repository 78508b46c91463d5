"""`pip install --no-build-isolation ./python` in a virtual environment made
with `/usr/bin/python3 -m venv --system-site-packages` builds a package that
carries its own compiled library.  The source tree is copied first, so the
build writes nothing into the checkout."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))


def test_pip_install_in_venv(tmp_path):
    if subprocess.run([sys.executable, "-m", "venv", "--help"], capture_output=True).returncode != 0:
        pytest.skip("python3-venv is not installed")
    src = tmp_path / "src"
    for d in ("runtime", "generated"):
        shutil.copytree(os.path.join(ROOT, d), src / d)
    shutil.copytree(os.path.join(ROOT, "python"), src / "python",
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "liboptkern.so", "tests"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-index", "--no-build-isolation", str(src / "python")],
                   check=True, cwd=str(tmp_path))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OPTKERN_LIBRARY")}
    code = ("import numpy as np, optkern\n"
            "k = optkern.find('sgd', 'f32'); w = np.ones(4, np.float32)\n"
            "k.step(w, np.ones(4, np.float32), [], 1, lr=0.5)\n"
            "assert (w == 0.5).all()\n"
            "print(optkern.library_path)\n")
    out = subprocess.run([py, "-c", code], check=True, capture_output=True, text=True, env=env, cwd=str(tmp_path))
    lib = out.stdout.strip()
    assert lib.startswith(str(venv)) and lib.endswith(os.path.join("optkern", "liboptkern.so")), lib
