"""Language detectors on the labelled passages and on team-written sentences in the region's unlabelled
languages: the project's detector before and after Albanian, Macedonian, Bulgarian and Ukrainian were
added (``--before FILE``: the older ``model/langid.py``), and py3langid (BSD-3, 4.6 MB wheel, if installed).

    python benchmarks/langid_compare.py [--before old_langid.py] [--out langid.json]

Prints, per detector, the share of labelled passages whose language it gets right (the label files'
``sr-Latn``, ``bs`` and ``hr`` all count as ``hbs-Latn``, the detector's one Latin-script label), the share
of the unlabelled-language sentences (``tests/fixtures/langid``: dev, which the rules were written
against, and test, written afterwards) it names correctly, and, for the new
detector, how many labelled passages get another language than before (each of those would change what
the shipped models do with it: routing, the ensemble's English-only member, e5-head's transliteration).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# dev: the sentences the detector's rules were written against; test: written afterwards, never tuned on.
FIXTURES = {"dev": ROOT / "tests" / "fixtures" / "langid" / "unlabelled_languages.jsonl",
            "test": ROOT / "tests" / "fixtures" / "langid" / "unlabelled_languages_test.jsonl"}
GOLD = {"en": "en", "ru": "ru", "sr-Cyrl": "sr-Cyrl", "sr-Latn": "hbs-Latn", "bs": "hbs-Latn", "hr": "hbs-Latn"}


def _py3langid():
    if importlib.util.find_spec("py3langid") is None:
        return None
    import py3langid

    def detect(text: str) -> str:
        code = py3langid.classify(text)[0]
        if code == "sr":  # langid names the language, not the script
            cyr = sum("\u0400" <= c <= "\u04ff" for c in text)
            return "sr-Cyrl" if cyr > len(text) / 4 else "hbs-Latn"
        return "hbs-Latn" if code in ("bs", "hr") else code

    return detect


def main() -> None:
    from narratives.model.langid import detect_language
    from narratives.train.data import load_passages

    ap = argparse.ArgumentParser()
    ap.add_argument("--before", type=Path, help="an older model/langid.py to compare with")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    detectors = {"narratives (now)": detect_language}
    if args.before:
        spec = importlib.util.spec_from_file_location("langid_before", args.before)
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        detectors["narratives (before)"] = mod.detect_language
    other = _py3langid()
    if other is not None:
        detectors["py3langid"] = other
    passages = load_passages()
    sets = {k: [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
            for k, f in FIXTURES.items()}
    res: dict = {"labelled": len(passages), "unlabelled_sentences": {k: len(v) for k, v in sets.items()},
                 "detectors": {}}
    for name, det in detectors.items():
        got = [det(p.text) for p in passages]
        by_lang: dict = {}
        for p, g in zip(passages, got):
            c = by_lang.setdefault(p.lang, Counter())
            c["n"] += 1
            c["right"] += g == GOLD[p.lang]
        res["detectors"][name] = {
            "labelled_accuracy": round(sum(g == GOLD[p.lang] for p, g in zip(passages, got)) / len(passages), 4),
            "labelled_by_language": {k: f"{v['right']}/{v['n']}" for k, v in sorted(by_lang.items())}}
        for split, extra in sets.items():
            ex = Counter(e["lang"] for e in extra if det(e["text"]) == e["lang"])
            res["detectors"][name][f"unlabelled_languages_{split}"] = {
                k: f"{ex[k]}/{sum(e['lang'] == k for e in extra)}" for k in sorted({e["lang"] for e in extra})}
            res["detectors"][name][f"unlabelled_seen_as_{split}"] = dict(Counter(
                f"{e['lang']}->{det(e['text'])}" for e in extra if det(e["text"]) != e["lang"]))
    if "narratives (before)" in detectors:
        before = [detectors["narratives (before)"](p.text) for p in passages]
        now = [detect_language(p.text) for p in passages]
        changed = [(p.where, b, n) for p, b, n in zip(passages, before, now) if b != n]
        res["labelled_changed_by_the_new_languages"] = len(changed)
        res["changed_examples"] = changed[:20]
    print(json.dumps(res, indent=2, ensure_ascii=False))
    if args.out:
        args.out.write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
