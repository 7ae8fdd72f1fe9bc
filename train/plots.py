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


def f1_bars(by_model: dict[str, dict], title: str = "F1 per narrative") -> bytes:
    plt = _fig()
    import numpy as np

    labels = list(next(iter(by_model.values()))["per_narrative"])
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.8 / len(by_model)
    x = np.arange(len(labels))
    for k, (name, m) in enumerate(by_model.items()):
        vals = [m["per_narrative"].get(lab, {}).get("f1", 0.0) for lab in labels]
        bars = ax.bar(x + k * width - 0.4 + width / 2, vals, width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(x, [lab.replace("_", "\n") for lab in labels], fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("F1")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
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


def evaluation_plots(by_model: dict[str, dict], main: str) -> dict[str, bytes]:
    """The three plots, by file name, for models evaluated on the same split; ``main`` names the model
    whose stance confusion matrix is drawn."""
    return {"f1_per_narrative.png": f1_bars(by_model), "reliability.png": reliability(by_model),
            "stance_confusion.png": stance_confusion(by_model[main])}
