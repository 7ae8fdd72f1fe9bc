"""What the workbench shows of one article: the scoring record plus every passage's scores, and the text
cut into paragraphs and segments so a template can render it escaped, paragraphs intact.

The record is the one ``narratives score`` writes (the same split, decisions and aggregation, scored once);
the passages add what the record leaves out: every passage's score for every narrative, so passages below
threshold can be shown on demand.

>>> a = analyse_text_layout("One two.\\n\\nThree four.", [(0, 8), (10, 21)])
>>> [[(s["text"], s["k"]) for s in p] for p in a]
[[('One two.', 0)], [('Three four.', 1)]]
"""
from __future__ import annotations

import hashlib
import re

_PARA = re.compile(r"\n[ \t\r\f\v]*\n")


def analyse_text_layout(text: str, spans: list[tuple[int, int]]) -> list[list[dict]]:
    """Paragraphs (split on blank lines, as passages are) as lists of segments ``{"text", "k"}``: ``k`` is
    the passage index for passage text, ``None`` for text between passages.

    >>> analyse_text_layout("a b", [])
    [[{'text': 'a b', 'k': None}]]
    """
    paras: list[tuple[int, int]] = []
    pos = 0
    for m in _PARA.finditer(text):
        paras.append((pos, m.start()))
        pos = m.end()
    paras.append((pos, len(text)))
    out = []
    j = 0
    for ps, pe in paras:
        segs: list[dict] = []
        cur = ps
        while j < len(spans) and spans[j][0] < pe:
            s, e = spans[j]
            if s > cur:
                segs.append({"text": text[cur:s], "k": None})
            segs.append({"text": text[max(s, cur):e], "k": j})
            cur = max(cur, e)
            j += 1
        if cur < pe:
            segs.append({"text": text[cur:pe], "k": None})
        if any(seg["text"].strip() for seg in segs):
            out.append(segs)
    return out


def analyse_article(clf, item: dict, max_evidence: int = 3) -> dict:
    """Score one article item (``{"id", "text", "source", "extra"}``) with a loaded model.

    Returns ``{"record", "passages", "layout", "text"}``: ``record`` as ``narratives score`` writes it;
    ``passages`` one dict per passage (``k, start, end, scores, hits, stance, stance_score, words``) where
    ``hits`` are the narratives at or above threshold on a passage long enough to be evidence.

    >>> from narratives.model import load_model
    >>> a = analyse_article(load_model("baseline"), {"id": "x", "text": "Markets were calm in Belgrade today."})
    >>> len(a["passages"]), a["record"]["n_passages"]
    (1, 1)
    """
    from narratives.serve.articles import MIN_WORDS, score_article
    from narratives.serve.records import rounded

    text = item["text"]
    record, spans, decisions = score_article(clf, item, max_evidence)
    passages = []
    for k, ((s, e), d) in enumerate(zip(spans, decisions)):
        words = len(text[s:e].split())
        # the passage's decided narratives (the one decision rule), where it is long enough to be evidence
        hits = sorted(d["narratives"], key=lambda lab: -d["scores"][lab]) if words >= MIN_WORDS else []
        passages.append({"k": k, "start": s, "end": e, "words": words, "hits": hits,
                         "scores": {lab: rounded(v) for lab, v in d["scores"].items()},
                         "stance": d["stance"], "stance_score": rounded(d["stance_score"])})
    return {"record": record, "passages": passages, "layout": analyse_text_layout(text, spans), "text": text}


def text_source(text: str) -> str:
    """The label ``source`` of passages from one article text: stable across sessions, so all of an
    article's passages share one split whenever they are labelled.

    >>> text_source("abc")
    'wb-ba7816bf8f01'
    """
    return "wb-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
