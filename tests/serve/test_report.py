"""The report's outlet chart splits stance (a fact-checker that reports narratives is not read as their
source) and shows narrative names, not ids."""
from __future__ import annotations

import re

from narratives.serve.report import render_report


def _rec(i: int, outlet: str, stance: str) -> dict:
    return {"id": f"a{i}", "source": f"x:{i}", "narratives": ["kosovo_precedent"], "stance": stance,
            "stances": {"kosovo_precedent": stance}, "scores": {"kosovo_precedent": 0.9, "anti_western": 0.1},
            "evidence": {"kosovo_precedent": [{"start": 0, "end": 5, "score": 0.9, "stance": stance,
                                               "stance_score": 0.5, "text": "t"}]},
            "errors": [], "warnings": [], "model_version": "v", "outlet": outlet}


def test_outlets_by_stance_with_narrative_names():
    records = [_rec(i, "Fact Check Desk", "reports") for i in range(5)] + [_rec(9, "State Wire", "promotes")]
    html = render_report(records, names={"kosovo_precedent": "Kosovo as precedent", "anti_western": "Anti-Western"})
    assert "Narratives per outlet, by stance" in html
    row = re.search(r"<tr><td>Fact Check Desk</td><td>(\d+) / (\d+)</td>", html)
    assert row and row.groups() == ("0", "5")  # reports, not promotes
    assert re.search(r"<tr><td>State Wire</td><td>1 / 0</td>", html)
    assert "Kosovo as precedent<br>promotes / reports" in html and "<h3>Kosovo as precedent" in html
