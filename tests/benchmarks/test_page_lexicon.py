"""benchmarks/page_lexicon.py: the heads and the page lexicon ranked side by side; a split is never both fitted on and
ranked."""
from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module() -> SimpleNamespace:
    return SimpleNamespace(**runpy.run_path(str(ROOT / "benchmarks" / "page_lexicon.py")))  # not run as __main__


def test_a_split_cannot_be_fitted_on_and_ranked(capsys):
    with pytest.raises(SystemExit) as exc:
        _module().main(["--split", "dev", "--split", "holdout8", "--fit-also", "holdout8"])
    assert exc.value.code == 2 and "cannot be fitted on and ranked" in capsys.readouterr().err


def test_the_blend_is_the_mean_of_the_logits():
    mod = _module()
    p = np.array([0.2, 0.5, 0.9])
    assert np.allclose(1 / (1 + np.exp(-(mod.logit(p) + mod.logit(p)) / 2)), p)
