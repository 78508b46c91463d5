"""The README's examples run: the NumPy one, and the ZeroRedundancyOptimizer
one on 2 processes (its loss falls, and rank 0 writes the checkpoint)."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))


def readme():
    with open(os.path.join(ROOT, "README.md")) as f:
        return f.read()


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = os.path.join(ROOT, "python") + os.pathsep + e.get("PYTHONPATH", "")
    return e


def test_numpy_example(tmp_path):
    text = readme()
    start = text.index("```python\nimport numpy as np, optkern")
    code = text[start + len("```python\n"):text.index("```", start + 10)]
    subprocess.run([sys.executable, "-c", code], check=True, env=env(), cwd=str(tmp_path), timeout=120)


def test_zero_example(tmp_path):
    pytest.importorskip("torch")
    text = readme()
    m = re.search(r"<!-- zero-example -->\n```python\n(.*?)```\n<!-- /zero-example -->", text, re.S)
    assert m, "README.md lost its zero-example block"
    code = m.group(1)
    assert len(code.splitlines()) <= 30
    script = tmp_path / "train.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], check=True, env=env(), cwd=str(tmp_path), timeout=300,
                         capture_output=True, text=True).stdout
    losses = [float(x) for x in re.findall(r"loss ([0-9.]+)", out)]
    assert len(losses) == 5 and losses[-1] < 0.1 * losses[0], out
    assert (tmp_path / "checkpoint.pt").is_file()
