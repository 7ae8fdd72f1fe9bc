"""``narratives suggest``: the unlabelled passages most worth labelling next (active learning).

Each passage of the given articles is scored by the model and ranked by

* **uncertainty**: how close its closest narrative score is to that narrative's threshold (1 at the
  threshold, 0 at 0 or 1), and, when a narrative is predicted, how undecided the stance head is;
* **disagreement** with a second model (``against``; default: the TF-IDF baseline when the model is
  another one): the share of narrative decisions on which the two differ, plus a differing stance.

Passages already in the label folder, near-repeats of each other, and passages the label folder would
not accept (its word bounds, see ``passage_rule``; ``min_words`` can raise the minimum) are skipped; at
most ``per_article`` passages come from one article, so one long article cannot fill the batch.

The result is a Label Studio import file: one task per passage, most worth labelling first, with the
model's decisions as pre-annotations carrying ``model_version`` and ``score`` (the model's confidence,
``1 - uncertainty``, in [0, 1] as Label Studio defines it), and the labelling priority (uncertainty plus
disagreement), the rank and the narrative scores in the task's ``meta``; ``ls_tasks`` checks such a file
against the interface in ``data/labels/label_studio.xml``.

>>> priority({"genocide_denial": 0.5}, {"genocide_denial": 0.5}, 0.9, ["genocide_denial"])
1.0
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path


def priority(scores: dict[str, float], thresholds: dict[str, float], stance_score: float,
             narratives: list[str]) -> float:
    """Uncertainty in [0, 1]: 1 when a narrative score sits exactly on its threshold, or (for a passage
    with a narrative) when the stance head is at 0.5."""
    closest = max((1 - abs(v - thresholds[k]) / max(thresholds[k], 1 - thresholds[k]) for k, v in scores.items()),
                  default=0.0)
    stance = 1 - abs(2 * stance_score - 1) if narratives else 0.0
    return round(max(closest, stance), 4)


def _norm(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).casefold().encode("utf-8", "surrogatepass")).hexdigest()


def _labelled(labels: str | Path | None, corpus: str | Path | None) -> set[str]:
    """Texts of the label folder. A folder named explicitly must load; the default one may be absent
    (an installed package scoring articles elsewhere), and then nothing is excluded."""
    from narratives.model.paths import labels_dir

    from .data import LabelError, load_passages

    if labels is None and not (labels_dir() / "taxonomy.yaml").exists():
        return set()
    try:
        return {_norm(p.text) for p in load_passages(labels, corpus, require_split=False)}
    except (LabelError, FileNotFoundError, ValueError) as exc:
        raise ValueError(f"the label folder could not be read, so labelled passages cannot be excluded: {exc}") from None


def suggest(files: Iterable[str], n: int = 50, model: str | Path | None = None, against: str | Path | None = "auto",
            per_article: int = 3, min_words: int = 8, labels: str | Path | None = None,
            corpus: str | Path | None = None, id_field: str = "id", text_field: str = "text") -> list[dict]:
    """Rank the passages of ``files`` and return the top ``n`` as Label Studio tasks.

    >>> tasks = suggest(["tests/fixtures/articles"], n=2)  # doctest: +SKIP
    >>> tasks[0]["predictions"][0]["model_version"]        # doctest: +SKIP
    '3fa1020adc89'
    """
    from narratives.model import load_model
    from narratives.model.langid import detect_language
    from narratives.model.paths import labels_dir
    from narratives.serve.passages import split_passages
    from narratives.serve.predict import decide
    from narratives.serve.readers import read_articles

    from .passage_rule import NO_LIMIT, folder_bounds, word_problem

    clf = load_model(model)
    other = None
    if against == "auto":
        other = None if clf.config_.get("kind") == "tfidf-logreg" else load_model("baseline")
    elif against is not None:
        other = load_model(against)
    seen = _labelled(labels, corpus)
    # Only passages `labels import` will accept and `labels check` will pass (passage_rule): min_words
    # (8 by default, enough to tell the language) is raised to the folder's minimum, never lowers it.
    lo, hi = folder_bounds(labels) if labels is not None or (labels_dir() / "taxonomy.yaml").exists() else (0, NO_LIMIT)
    limits = (max(lo, min_words), hi)
    cands: list[dict] = []
    read, errors = 0, []
    from narratives.model.progress import enabled, progress
    from narratives.serve.counting import count_articles

    files = list(files)
    arts = progress(read_articles(files, id_field, text_field), total=count_articles(files) if enabled() else None,
                    desc="ranking passages", unit="article")
    for art in arts:
        if art.get("error") or not isinstance(art.get("text"), str):
            errors.append(str(art.get("error") or f"{art.get('source')}: no text"))
            continue
        read += 1
        key = f"{art.get('source')}#{art.get('id')}"  # one article: ids repeat across files
        texts = []
        for k, (a, b) in enumerate(split_passages(art["text"])):
            t = art["text"][a:b]
            h = _norm(t)
            if word_problem(t, limits) or h in seen:
                continue
            seen.add(h)
            texts.append((k, a, b, t))
        if not texts:
            continue
        mine = decide(clf, [t for *_, t in texts])
        theirs = decide(other, [t for *_, t in texts]) if other is not None else [None] * len(texts)
        for (k, a, b, t), d, o in zip(texts, mine, theirs):
            u = priority(d["scores"], clf.thresholds_, d["stance_score"], d["narratives"])
            dis = 0.0
            if o is not None:
                shared = [lab for lab in clf.labels_ if lab in o["scores"]]
                dis = sum((lab in d["narratives"]) != (lab in o["narratives"]) for lab in shared) / max(len(shared), 1)
                dis += 0.5 * (d["stance"] != o["stance"])
            cands.append({"article": str(art.get("id")), "key": key, "source": art.get("source"), "k": k,
                          "start": a, "end": b,
                          "text": t, "decision": d, "uncertainty": u, "disagreement": round(dis, 4),
                          "priority": round(u + dis, 4)})
    if not read:
        raise ValueError("no article could be read" + (f": {errors[0]}" if errors else " (no input)")
                         + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
    cands.sort(key=lambda c: (-c["priority"], c["key"], c["k"]))
    picked, per = [], {}  # type: ignore[var-annotated]
    for c in cands:
        if per.get(c["key"], 0) >= per_article:
            continue
        per[c["key"]] = per.get(c["key"], 0) + 1
        picked.append(c)
        if len(picked) >= n:
            break
    version = clf.model_hash_[:12]
    for rank, c in enumerate(picked, 1):
        c["rank"] = rank
    return [_task(c, version, detect_language(c["text"])) for c in picked]


LS_LANGS = ("en", "sr-Latn", "sr-Cyrl", "bs", "hr", "ru")  # the label files' languages (hbs-Latn is ambiguous)


def _task(c: dict, version: str, lang: str) -> dict:
    d = c["decision"]
    result = [{"from_name": "narratives", "to_name": "text", "type": "choices",
               "value": {"choices": list(d["narratives"])}},
              {"from_name": "stance", "to_name": "text", "type": "choices", "value": {"choices": [d["stance"]]}}]
    data = {"text": c["text"], "source": c["key"], "article_id": c["article"], "passage": c["k"],
            "start": c["start"], "end": c["end"], "file": c["source"]}
    if lang in LS_LANGS:
        data["lang"] = lang
    # Label Studio's prediction score is the model's confidence in [0, 1] (sorted ascending, so the least
    # sure come first); the labelling priority, which adds the disagreement, goes in meta and the task order.
    return {"data": data,
            "predictions": [{"model_version": version, "score": round(1 - c["uncertainty"], 4), "result": result}],
            "meta": {"priority": c["priority"], "rank": c["rank"], "uncertainty": c["uncertainty"],
                     "disagreement": c["disagreement"], "scores": {k: round(v, 4) for k, v in d["scores"].items()}}}


def write_tasks(tasks: list[dict], path: str | Path) -> None:
    """Write Label Studio tasks as one JSON file, atomically."""
    from narratives.model.artifact import atomic_write_text

    atomic_write_text(Path(path), json.dumps(tasks, ensure_ascii=False, indent=1) + "\n")
