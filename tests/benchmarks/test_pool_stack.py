"""benchmarks/pool_stack.py: its figures are `narratives real evaluate`'s, per group of pages."""
from __future__ import annotations

import runpy
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]


def _module() -> SimpleNamespace:
    return SimpleNamespace(**runpy.run_path(str(ROOT / "benchmarks" / "pool_stack.py")))  # not run as __main__


def _rec(found: list[str]) -> dict:
    return {"narratives": found, "stances": {n: "promotes" for n in found}, "stance": "promotes" if found else "none"}


def test_presence_figures_split_english_from_the_rest():
    gold = [{"a": "promotes"}, {}, {"a": "reports"}, {}]
    records = [_rec(["a"]), _rec(["a"]), _rec([]), _rec([])]
    fig = _module().presence_figures(gold, records, ["a"], [True, True, False, False])
    assert fig["en"] == {"macro_f1": 0.6667, "negatives_flagged": 1.0}  # one page found, one negative flagged
    assert fig["non-en"] == {"macro_f1": 0.0, "negatives_flagged": 0.0}  # the one narrative missed
    assert fig["all"]["negatives_flagged"] == 0.5
