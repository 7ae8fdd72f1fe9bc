"""benchmarks/page_lexicon.py: the heads and the page lexicon ranked side by side; a split is never both fitted on and
ranked."""
from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module() -> SimpleNamespace:
    return SimpleNamespace(**runpy.run_path(str(ROOT / "benchmarks" / "page_lexicon.py")))  # not run as __main__


def test_a_split_cannot_be_fitted_on_and_ranked(capsys):
    with pytest.raises(SystemExit) as exc:
        _module().main(["--split", "dev", "--split", "holdout8", "--fit-also", "holdout8"])
    assert exc.value.code == 2 and "cannot be fitted on and ranked" in capsys.readouterr().err

