"""``compare``: the regression gate behind ``promote``."""
from __future__ import annotations

import json
import os
import shutil

from narratives.train import train
from narratives.train.compare import compare_models, format_comparison


def test_a_dropped_narrative_with_test_passages_is_a_regression(tiny_model, labels_dir, corpus_dir, tmp_path):
    small = tmp_path / "small-labels"
    small.mkdir()
    tax = (labels_dir / "taxonomy.yaml").read_text().split("  - id: anti_western")[0]
    (small / "taxonomy.yaml").write_text(tax)
    rows = [json.loads(line) for line in (labels_dir / "team.jsonl").read_text().splitlines()]
    (small / "team.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows if "anti_western" not in r["narratives"]))
    shutil.copy(labels_dir / "seed_spans.jsonl", small)
    train(labels=small, corpus=corpus_dir, out=tmp_path / "m", cv_folds=3, log=open(os.devnull, "w"))
    report = compare_models(tiny_model, tmp_path / "m", labels_dir, corpus_dir)
    row = next(r for r in report["narratives"] if r["narrative"] == "anti_western")
    assert row["support"] > 0 and row["status"].startswith("REMOVED")
    assert "anti_western" in report["regressions"]
    assert "regressions (F1 drop > 0.02): " in format_comparison(report)
    same = compare_models(tiny_model, tiny_model, labels_dir, corpus_dir)
    assert same["regressions"] == [] and all(r["delta"] in (0, None) for r in same["narratives"])
