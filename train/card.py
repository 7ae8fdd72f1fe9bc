"""The model card (``README.md`` of a model directory), rendered from its metrics.

>>> "| narrative |" in _per_narrative_table({"per_narrative": {"x": {"precision": 1, "recall": 1, "f1": 1, "support": 2}}})
True
"""
from __future__ import annotations

from collections import Counter


def _fmt(v) -> str:
    return "n/a" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))


def _kind_spec(config: dict):
    from narratives.model.kinds import kind_spec

    return kind_spec(str(config.get("kind")))


def _kind_lines(config: dict) -> list[str]:
    """What only the model's kind knows how to say about it (its encoder, members, routes)."""
    return _kind_spec(config).cls.describe(config)


def _weak_spots(config: dict) -> str:
    return _kind_spec(config).cls.weak_spots


def _delta(a, b) -> str:
    return "" if a is None or b is None else f"{b - a:+.3f}"


def _per_narrative_table(m: dict) -> str:
    rows = ["| narrative | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for lab, r in m["per_narrative"].items():
        rows.append(f"| {lab} | {_fmt(r['precision'])} | {_fmt(r['recall'])} | {_fmt(r['f1'])} | {r['support']} |")
    return "\n".join(rows)


def _summary_table(splits: dict) -> str:
    rows = ["| split | passages | macro-F1 | micro-F1 | stance accuracy (3-way) | stance head accuracy | "
            "negatives flagged | ECE |", "|---|---|---|---|---|---|---|---|"]
    for name, m in splits.items():
        if m.get("n"):
            rows.append(f"| {name} | {m['n']} | {_fmt(m['macro_f1'])} | {_fmt(m['micro_f1'])} | "
                        f"{_fmt(m['stance_accuracy'])} | {_fmt(m['stance_head_accuracy'])} | "
                        f"{_fmt(m['negatives_flagged'])} ({m['negatives']} negatives) | {_fmt(m.get('ece'))} |")
    return "\n".join(rows)


def _language_table(m: dict) -> str:
    rows = ["| language | passages | macro-F1 (narratives present) | micro-F1 | stance accuracy | "
            "negatives flagged |", "|---|---|---|---|---|---|"]
    for lang, r in m.get("per_language", {}).items():
        rows.append(f"| {lang} | {r['n']} | {_fmt(r['macro_f1'])} | "
                    f"{_fmt(r['micro_f1'])} | {_fmt(r['stance_accuracy'])} | {_fmt(r['negatives_flagged'])} |")
    return "\n".join(rows)


def _top_phrase(k: int) -> str:
    """``the passage`` or ``the K passages``, for the card's real-positives line.

    >>> _top_phrase(1), _top_phrase(2)
    ('the passage', 'the 2 passages')
    """
    return "the passage" if k == 1 else f"the {k} passages"


def render_card(metrics: dict, config: dict, taxonomy, passages) -> str:
    """Markdown model card: what the model is, its data, its held-out figures, and how to reproduce it."""
    from .decider import card_section

    data = metrics["data"]
    splits = metrics["splits"]
    counts = Counter((p.split, p.lang) for p in passages)
    langs = sorted({p.lang for p in passages})
    lang_rows = "\n".join(f"| {lang} | " + " | ".join(str(counts[(s, lang)]) for s in ("train", "dev", "test")) + " |"
                          for lang in langs)
    parts = [
        f"# Narrative classifier: {config['kind']} (version {metrics['model_version']})",
        "",
        f"Detects {len(config['labels'])} pro-Kremlin narratives about the Western Balkans in passages of news text, "
        "and whether a passage *promotes* a narrative or *reports* it with distance.",
        "",
        f"- model hash: `{metrics['model_hash']}`",
        f"- created: {metrics['created']} (training took {metrics['train_seconds']} s)",
        f"- labels: {', '.join(config['labels'])}",
        f"- trained on split(s): {', '.join(data['fit_splits'])}; label data sha256 `{data['labels_sha256'][:16]}…`; "
        f"taxonomy sha256 `{data['taxonomy_sha256'][:16]}…`; frozen test split sha256 `{data['test_split_sha256'][:16]}…`",
        *([f"- also fitted on {rn['passages']} real negative passages: every passage of the {rn['pages']} "
           f"training-pool pages without narrative (data/real/train_*.jsonl, text from the local cache; references "
           f"sha256 `{rn['references_sha256'][:16]}…`)"] if (rn := data.get("real_negatives")) else []),
        *([f"- and on {rp['passages']} real positive passages: for each narrative of the {rp['pages']} training-pool "
           f"pages that carry one, {_top_phrase(rp.get('per_narrative', 1))} a first fit scored highest for it, with the "
           f"page's stance (references sha256 `{rp['references_sha256'][:16]}…`)"]
          if (rp := data.get("real_positives")) and rp["passages"] else []),
        *([f"- and on {ev['passages']} passages of the {ev['pages']} training-pool pages whose evidence passages are "
           f"marked (data/real/evidence/*.jsonl): {ev['positives']} marked passages with the page's stance, the others "
           f"as negatives (evidence sha256 `{ev['evidence_sha256'][:16]}…`)"] if (ev := data.get("real_evidence")) else []),
        f"- library versions: {', '.join(f'{k} {v}' for k, v in sorted(config['versions'].items())) or 'see members'}",
        *_kind_lines(config),
        "",
        "## Data",
        "",
        "| language | train | dev | test |",
        "|---|---|---|---|",
        lang_rows,
        "",
        "Splits are by source (writing batch or article): no source feeds two splits. The test split is frozen "
        f"and never used for tuning; thresholds (and, for transformers, temperatures) are tuned on: "
        f"{metrics.get('tuned_on', 'out-of-fold scores of the training split')}.",
        "",
        "## Held-out figures",
        "",
        _summary_table(splits),
        "",
        "*Stance accuracy (3-way)* compares promotes/reports/none as the product outputs it, so it also counts "
        "narrative-detection errors; *stance head accuracy* is promotes vs reports on passages that carry a "
        "narrative. *Negatives flagged* is the share of passages with no narrative that get one predicted. *ECE* is "
        "the expected calibration error of the narrative probabilities (10 bins).",
        "",
    ]
    for name, m in splits.items():
        if m.get("n"):
            parts += [f"### Per narrative, {name} split", "", _per_narrative_table(m), "", _language_table(m), ""]
    ref = metrics.get("reference")
    if ref:
        parts += [f"### Against the reference model {ref['model_version']}", "",
                  f"The reference model was trained on {ref.get('fit_passages', '?')} passages and is scored here on "
                  "the same held-out passages as this model.", ""]
        for name, m in splits.items():
            r = ref["splits"].get(name)
            if not (m.get("n") and r and r.get("n")):
                continue
            parts += [f"| {name} split | reference | this model | change |", "|---|---|---|---|"]
            for lab in m["per_narrative"]:
                a = r["per_narrative"].get(lab, {}).get("f1")
                b = m["per_narrative"][lab]["f1"]
                parts.append(f"| {lab} F1 | {_fmt(a)} | {_fmt(b)} | {_delta(a, b)} |")
            for key in ("macro_f1", "micro_f1", "stance_accuracy", "stance_head_accuracy", "negatives_flagged", "ece"):
                parts.append(f"| {key.replace('_', ' ')} | {_fmt(r.get(key))} | {_fmt(m.get(key))} | "
                             f"{_delta(r.get(key), m.get(key))} |")
            parts.append("")
    if metrics.get("tuned_on") == "dev" and "dev" in splits:
        parts += ["Temperatures and thresholds were fitted on the dev split, so the dev figures above are "
                  "optimistic; the test split is the honest one.", ""]
    cv = metrics.get("cv_on_fit_splits")
    if cv:
        parts += ["### Cross-validated on the training split (out-of-fold, grouped by source)", "",
                  f"macro-F1 {_fmt(cv['macro_f1'])}, micro-F1 {_fmt(cv['micro_f1'])} over {cv['n']} passages.", ""]
    parts += [
        "## Plots", "",
        "![F1 per narrative](f1_per_narrative.png) ![Reliability diagram](reliability.png) "
        "![Stance confusion matrix](stance_confusion.png)", "",
        "## Decision thresholds", "",
        "| narrative | threshold |", "|---|---|",
        *[f"| {k} | {v:.3f} |" for k, v in config["thresholds"].items()],
        "",
        *(card_section(config["article_decider"]) if config.get("article_decider") else []),
        "## Limitations", "",
        "- Trained on a small, team-written dataset plus stand-off labels over five analysis articles; figures on "
        "this test split are a proxy for real media text.",
        _weak_spots(config),
        "",
        "## Reproduce", "",
        "```",
        metrics.get("command", "narratives train"),
        "```",
        "",
    ]
    return "\n".join(parts)
