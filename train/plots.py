"""PNG plots of an evaluation: per-narrative F1 bars, a reliability diagram, a stance confusion matrix.

Each function takes metrics dicts (as ``evaluate_predictions`` returns them) keyed by model name and
returns PNG bytes, so plots can go into a model directory or anywhere else.

>>> png = f1_bars({"m": {"per_narrative": {"a": {"f1": 0.5}}}})
>>> png[:4]
b'\\x89PNG'
"""
from __future__ import annotations

import io


def _fig():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    _fig().close(fig)
    return buf.getvalue()


def f1_bars(by_model: dict[str, dict], title: str = "F1 per narrative", names: dict[str, str] | None = None) -> bytes:
    """Grouped F1 bars; each narrative labelled by its name (``names``: id -> name) and its support (the
    passages that carry it in the split), so a bar over three passages is read as such."""
    plt = _fig()
    import textwrap

    import numpy as np

    first = next(iter(by_model.values()))["per_narrative"]
    labels = list(first)
    fig, ax = plt.subplots(figsize=(8, 3.8))
    width = 0.8 / len(by_model)
    x = np.arange(len(labels))
    for k, (name, m) in enumerate(by_model.items()):
        vals = [m["per_narrative"].get(lab, {}).get("f1", 0.0) for lab in labels]
        bars = ax.bar(x + k * width - 0.4 + width / 2, vals, width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ticks = ["\n".join(textwrap.wrap((names or {}).get(lab, lab.replace("_", " ")), 18))
             + f"\n(n={first[lab].get('support', '?')})" for lab in labels]
    ax.set_xticks(x, ticks, fontsize=7)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("F1")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=2, frameon=False)
    return _png(fig)


def reliability(by_model: dict[str, dict], title: str = "Reliability (all narratives)") -> bytes:
    plt = _fig()
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1, label="perfect calibration")
    for name, m in by_model.items():
        bins = m.get("reliability", [])
        ax.plot([b["mean_probability"] for b in bins], [b["frequency"] for b in bins], "o-",
                label=f"{name} (ECE {m.get('ece', float('nan')):.3f})")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left")
    return _png(fig)


def stance_confusion(m: dict, title: str = "Stance (rows: gold, columns: predicted)") -> bytes:
    plt = _fig()
    conf = m["stance_confusion"]
    names, matrix = conf["labels"], conf["matrix"]
    fig, ax = plt.subplots(figsize=(4, 3.4))
    ax.imshow(matrix, cmap="Blues")
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=10)
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(names)), names)
    ax.set_title(title, fontsize=9)
    return _png(fig)


def evaluation_plots(by_model: dict[str, dict], main: str, split: str | None = None, n: int | None = None,
                     names: dict[str, str] | None = None) -> dict[str, bytes]:
    """The three plots, by file name, for models evaluated on the same split; ``main`` names the model
    whose stance confusion matrix is drawn; ``split`` and ``n`` (its passages) go into every title, and
    ``names`` maps narrative ids to their names.

    >>> m = {"per_narrative": {"a": {"f1": 0.5, "support": 3}}, "reliability": [], "ece": 0.1,
    ...      "stance_confusion": {"labels": ["none"], "matrix": [[1]]}}
    >>> sorted(evaluation_plots({"this model": m}, "this model", split="test", n=3, names={"a": "A"}))
    ['f1_per_narrative.png', 'reliability.png', 'stance_confusion.png']
    """
    where = f", {split} split" + (f" ({n} passages)" if n else "") if split else ""
    return {"f1_per_narrative.png": f1_bars(by_model, title=f"F1 per narrative{where}", names=names),
            "reliability.png": reliability(by_model, title=f"Reliability (all narratives){where}"),
            "stance_confusion.png": stance_confusion(by_model[main], title=f"Stance of {main}{where}\n"
                                                                           "(rows: gold, columns: predicted)")}
