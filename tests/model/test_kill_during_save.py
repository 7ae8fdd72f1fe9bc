"""A real SIGKILL at each step of a save leaves the previous model loadable."""
import os
import signal
import subprocess
import sys

import pytest

from narratives.model import TfidfNarrativeClassifier, load_model

CHILD = r"""
import os, sys, time
real = os.replace
def slow(src, dst):
    print("replace", flush=True)
    time.sleep(5)                      # the parent kills us here
    real(src, dst)
os.replace = slow
from narratives.model import TfidfNarrativeClassifier
clf = TfidfNarrativeClassifier(labels=["a", "b"], min_df=1, cv_folds=0, C=float(sys.argv[2]))
clf.fit(["red apples here", "green pears there", "blue sky above"], [["a"], ["b"], []], ["promotes", "reports", "none"])
clf.save_pretrained(sys.argv[1])
print("done", flush=True)
"""


def _model():
    return TfidfNarrativeClassifier(labels=["a", "b"], min_df=1, cv_folds=0).fit(
        ["red apples here", "green pears there", "blue sky above"], [["a"], ["b"], []], ["promotes", "reports", "none"])


@pytest.mark.parametrize("kill_at", [1, 2])  # 1: before the old model moves aside; 2: between the two renames
def test_sigkill_during_save_keeps_the_previous_model(tmp_path, kill_at):
    target = tmp_path / "m"
    old_hash = _model().save_pretrained(target)
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(target), "0.5"], stdout=subprocess.PIPE, text=True)
    seen = 0
    for line in child.stdout:
        if line.strip() == "replace":
            seen += 1
            if seen == kill_at:
                os.kill(child.pid, signal.SIGKILL)
                break
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert TfidfNarrativeClassifier.from_pretrained(target).model_hash_ == old_hash
    assert load_model(target).model_hash_ == old_hash
    # The next save completes and cleans up whatever the killed one left behind.
    new_hash = TfidfNarrativeClassifier(labels=["a", "b"], min_df=1, cv_folds=0, C=0.5).fit(
        ["red apples here", "green pears there", "blue sky above"], [["a"], ["b"], []],
        ["promotes", "reports", "none"]).save_pretrained(target)
    assert new_hash != old_hash and TfidfNarrativeClassifier.from_pretrained(target).model_hash_ == new_hash
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # the killed save's temp folder is gone too
