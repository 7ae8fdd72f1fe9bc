"""Model-card plots name the split and the models (not hashes), and show each narrative's name and support."""
from __future__ import annotations

from narratives.train import plots


def test_plots_name_split_models_narratives_and_support(monkeypatch):
    texts: dict[str, list[str]] = {}

    def capture(fig):
        ax = fig.axes[0]
        texts[ax.get_title()] = [t.get_text() for t in ax.get_xticklabels()] + \
            [t.get_text() for t in (ax.get_legend().get_texts() if ax.get_legend() else [])]
        return b"png"

    monkeypatch.setattr(plots, "_png", capture)
    m = {"per_narrative": {"kosovo_precedent": {"f1": 0.8, "support": 12}, "anti_western": {"f1": 0.5, "support": 3}},
         "reliability": [{"mean_probability": 0.5, "frequency": 0.4}], "ece": 0.1,
         "stance_confusion": {"labels": ["promotes", "reports", "none"], "matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}}
    plots.evaluation_plots({"this model (ensemble)": m, "reference: baseline (tfidf-logreg)": m},
                           main="this model (ensemble)", split="test", n=157,
                           names={"kosovo_precedent": "Kosovo as precedent", "anti_western": "Anti-Western"})
    f1 = texts["F1 per narrative, test split (157 passages)"]
    assert "Kosovo as\nprecedent\n(n=12)" in f1 and "Anti-Western\n(n=3)" in f1  # names wrapped, support below
    assert "reference: baseline (tfidf-logreg)" in f1  # the legend names the reference model, not a hash
    assert "Reliability (all narratives), test split (157 passages)" in texts
    assert any(t.startswith("Stance of this model (ensemble), test split") for t in texts)


def test_a_trained_card_names_its_reference(tiny_model, tmp_path):
    import json
    from pathlib import Path

    from narratives.train import train

    FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
    out = tmp_path / "m"
    train(labels=FIXTURES / "labels", corpus=FIXTURES / "corpus", out=out, cv_folds=3, reference=str(tiny_model),
          log=open(__import__("os").devnull, "w"))
    ref = json.loads((out / "metrics.json").read_text())["reference"]
    assert ref["name"] == tiny_model.name and ref["kind"] == "tfidf-logreg"
