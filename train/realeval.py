"""Score the real-page benchmark with one or more models, as articles, through ``narratives score``'s path.

Each cached page is scored by :func:`narratives.serve.articles.score_articles` (the function behind
``narratives score``), and compared with its article-level reference labels:

* per narrative precision, recall, F1 (scikit-learn, ``zero_division=0``); macro-F1 over the narratives
  that occur in the references or the predictions of the slice (the convention of ``narratives evaluate``);
* the share of negatives flagged (pages labelled with no narrative), and of hard negatives;
* page stance accuracy (promotes if any labelled narrative is promoted, reports if all are reported, none
  for a negative) on all pages, and on the pages where at least one labelled narrative was found; and the
  stance accuracy of each narrative found;
* the same per language and for the pooled non-English pages;
* every error: a missed narrative, a false alarm, a wrong stance, with the page's id and url.

>>> page_figures([{"a": "promotes"}, {}], [{"narratives": ["a"], "stances": {"a": "promotes"}, "stance": "promotes"},
...               {"narratives": [], "stances": {}, "stance": "none"}], [False, True], ["a", "b"])["macro_f1"]
1.0
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .realcache import cached_texts
from .realpages import HELD_OUT, RealPage, load_references

SPLITS = ("dev", "test", "all", *HELD_OUT)


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def _share(mask, within) -> float | None:
    mask, within = np.asarray(mask, dtype=bool), np.asarray(within, dtype=bool)
    return _r(mask[within].mean()) if within.any() else None


def page_figures(gold: Sequence[dict], records: Sequence[dict], hard: Sequence[bool], labels: Sequence[str]) -> dict:
    """Figures of one slice: ``gold`` holds each page's labels (narrative -> stance), ``records`` the article
    records of ``narratives score`` for the same pages, ``hard`` the hard-negative flags.

    >>> f = page_figures([{"a": "reports"}, {"a": "promotes"}, {}],
    ...     [{"narratives": ["a"], "stances": {"a": "promotes"}, "stance": "promotes"},
    ...      {"narratives": [], "stances": {}, "stance": "none"},
    ...      {"narratives": ["b"], "stances": {"b": "reports"}, "stance": "reports"}], [False, False, True], ["a", "b"])
    >>> f["per_narrative"]["a"], f["macro_f1"], f["negatives_flagged"], f["stance_accuracy"]
    ({'precision': 1.0, 'recall': 0.5, 'f1': 0.6667, 'support': 2}, 0.3333, 1.0, 0.0)
    """
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    n = len(gold)
    Y = np.array([[lab in g for lab in labels] for g in gold], dtype=bool).reshape(n, len(labels))
    P = np.array([[lab in r["narratives"] for lab in labels] for r in records], dtype=bool).reshape(n, len(labels))
    out: dict = {"n": n}
    p = r = f = np.zeros(len(labels))
    if n and labels:  # one narrative at a time: scikit-learn reads a one-column indicator as a binary vector
        p, r, f = (np.array(v) for v in zip(*(precision_recall_fscore_support(
            Y[:, j], P[:, j], average="binary", pos_label=True, zero_division=0)[:3] for j in range(len(labels)))))
    s = Y.sum(0)
    out["per_narrative"] = {lab: {"precision": _r(p[i]), "recall": _r(r[i]), "f1": _r(f[i]), "support": int(s[i])}
                            for i, lab in enumerate(labels)}
    present = (Y.sum(0) + P.sum(0)) > 0
    out["macro_f1"] = _r(f[present].mean()) if present.any() else None
    neg = Y.sum(1) == 0
    flagged = P.any(1)
    hard_arr = np.array(hard, dtype=bool)
    out["negatives"], out["hard_negatives"] = int(neg.sum()), int((neg & hard_arr).sum())
    out["negatives_flagged"] = _share(flagged, neg)
    out["hard_negatives_flagged"] = _share(flagged, neg & hard_arr)
    gold_stance = [page_stance(g) for g in gold]
    pred_stance = [rec["stance"] for rec in records]
    out["stance_accuracy"] = _r(accuracy_score(gold_stance, pred_stance)) if n else None
    found = [i for i in range(n) if set(gold[i]) & set(records[i]["narratives"])]
    out["pages_found"] = len(found)
    out["stance_accuracy_found"] = (_r(accuracy_score([gold_stance[i] for i in found], [pred_stance[i] for i in found]))
                                    if found else None)
    pairs = [(g[lab], rec["stances"][lab]) for g, rec in zip(gold, records) for lab in g if lab in rec["narratives"]]
    out["narrative_stance_accuracy"] = _r(np.mean([a == b for a, b in pairs])) if pairs else None
    return out


def page_stance(labels: dict) -> str:
    """The page stance of a labels object.

    >>> page_stance({}), page_stance({"a": "reports"}), page_stance({"a": "reports", "b": "promotes"})
    ('none', 'reports', 'promotes')
    """
    if not labels:
        return "none"
    return "promotes" if "promotes" in labels.values() else "reports"


def page_errors(ref: RealPage, rec: dict) -> list[dict]:
    """Every error on one page: missed narratives, false alarms, wrong stances (with scores, id and url).

    >>> from narratives.train.realpages import Page
    >>> ref = RealPage(Page.model_construct(id="x-00000000", url="https://e.org", labels={"a": "reports"}, lang="en"), "f:1")
    >>> [e["kind"] for e in page_errors(ref, {"narratives": ["a", "b"], "stances": {"a": "promotes", "b": "reports"},
    ...                                       "scores": {"a": 0.9, "b": 0.7}})]
    ['wrong_stance', 'false_alarm']
    """
    p = ref.page
    base = {"id": p.id, "url": p.url, "lang": p.lang}
    errs = []
    for lab, stance in p.labels.items():
        if lab not in rec["narratives"]:
            errs.append({**base, "kind": "missed", "narrative": lab, "gold": stance, "predicted": None,
                         "score": rec["scores"].get(lab)})
        elif rec["stances"].get(lab) != stance:
            errs.append({**base, "kind": "wrong_stance", "narrative": lab, "gold": stance,
                         "predicted": rec["stances"].get(lab), "score": rec["scores"].get(lab)})
    for lab in rec["narratives"]:
        if lab not in p.labels:
            errs.append({**base, "kind": "false_alarm", "narrative": lab, "gold": None,
                         "predicted": rec["stances"].get(lab), "score": rec["scores"].get(lab)})
    return errs


def select(refs: list[RealPage], split: str) -> list[RealPage]:
    """The pages of one half (``dev`` or ``test``), ``all`` (both halves), the ``check`` set or the ``holdout``
    set; the training pool is never scored."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    return [r for r in refs if r.page.split == split or (split == "all" and r.page.split in ("dev", "test"))]


def figures_with_slices(refs: list[RealPage], records: list[dict], labels: Sequence[str]) -> dict:
    """:func:`page_figures` on all pages, per language and on the pooled non-English pages, plus the errors."""
    def fig(idx: list[int]) -> dict:
        return page_figures([refs[i].page.labels for i in idx], [records[i] for i in idx],
                            [refs[i].page.hard_negative for i in idx], labels)

    everything = list(range(len(refs)))
    out = fig(everything)
    out["per_language"] = {lang: fig([i for i in everything if refs[i].page.lang == lang])
                           for lang in sorted({r.page.lang for r in refs})}
    non_en = [i for i in everything if refs[i].page.lang != "en"]
    out["language_groups"] = {"non-English": fig(non_en)} if non_en else {}
    out["errors"] = [e for ref, rec in zip(refs, records) for e in page_errors(ref, rec)]
    out["failed_pages"] = [{"id": ref.page.id, "url": ref.page.url, "errors": rec["errors"]}
                           for ref, rec in zip(refs, records) if rec["errors"]]
    return out


def score_pages(refs: list[RealPage], texts: dict[str, str], model=None, batch_passages: int = 256) -> list[dict]:
    """Article records for the pages, exactly as ``narratives score`` makes them (same function, same defaults)."""
    from narratives.serve.articles import score_articles

    items = ({"id": r.page.id, "source": r.page.url, "text": texts[r.page.id], "extra": {}} for r in refs)
    return list(score_articles(items, model=model, batch_passages=batch_passages))


def reference_digest(refs: list[RealPage]) -> str:
    """sha256 over the pages' ids, labels and text hashes, in id order: two reports with the same digest were
    computed on the same labelled texts.

    >>> reference_digest([])[:12]
    'e3b0c44298fc'
    """
    import hashlib
    import json

    rows = sorted(json.dumps([r.page.id, r.page.labels, r.page.sha256], sort_keys=True) for r in refs)
    return hashlib.sha256("\n".join(rows).encode("utf-8")).hexdigest()


def evaluate_real(models: Sequence[str | None] = (None,), path: str | Path | None = None, split: str = "test",
                  batch_passages: int = 256) -> dict:
    """Score the cached pages of ``split`` (dev, test or all) with each model (a name, version, directory or
    ``None`` for the default) and return every figure. Raises ``ReferenceError`` for invalid references and
    ``CacheError`` (listing every missing id and url) when the cache lacks a page of the split."""
    return evaluate_real_splits(models, path, (split,), batch_passages)[split]


def evaluate_real_splits(models: Sequence[str | None] = (None,), path: str | Path | None = None,
                         splits: Sequence[str] = ("dev", "test"), batch_passages: int = 256) -> dict[str, dict]:
    """:func:`evaluate_real` for several halves at once (``{split: report}``): each page is scored once per
    model, however many of the requested halves hold it."""
    from narratives.model import load_model
    from narratives.model.int8sums import int8_kernel, sums_here

    from .realpages import reference_counts

    refs_all = load_references(path)
    chosen = {s: select(refs_all, s) for s in dict.fromkeys(splits)}
    union = [r for r in refs_all if any(r in refs for refs in chosen.values())]
    texts = cached_texts(union)
    kernel = int8_kernel()
    reports: dict[str, dict] = {
        s: {"split": s, "n_pages": len(refs), "references_sha256": reference_digest(refs),
            "counts": reference_counts(refs), "int8_kernel": kernel, "int8_sums": sums_here(kernel),
            "models": {}} for s, refs in chosen.items()}
    for ref in models:
        clf = load_model(ref)
        records = dict(zip((r.page.id for r in union),
                           score_pages(union, texts, model=clf, batch_passages=batch_passages)))
        name = ref or "default"
        for s, refs in chosen.items():
            reports[s]["models"][name] = {"kind": clf.config_["kind"], "model_hash": clf.model_hash_,
                                          **figures_with_slices(refs, [records[r.page.id] for r in refs],
                                                                list(clf.labels_))}
    return reports
