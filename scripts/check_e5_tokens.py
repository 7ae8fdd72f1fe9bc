"""Check that the lean tokenizer (:mod:`narratives.model.e5tokens`) gives exactly the ids of the converted
encoder's ``tokenizers`` tokenizer, on every team passage (``data/labels``, seed spans included when the
seed corpus is present), every team article (whole, and each paragraph) and every cached real page
(``~/.cache/narratives/real-pages``, whole and each paragraph), each as itself and as the encoder's
input (``query: `` and the text, Serbian Cyrillic transliterated). Prints counts and timings only: no
text is printed or written (the real pages and seeds are third-party text), a mismatch is reported by
its source and index.

    python scripts/check_e5_tokens.py            # exit status 1 on any mismatch
"""
from __future__ import annotations

import sys
import time
from pathlib import Path


def corpora() -> dict[str, list[str]]:
    from narratives.train.data import load_passages
    from narratives.train.realcache import cache_dir
    from narratives.train.teamarticles import load_articles

    try:
        passages = [p.text for p in load_passages()]
    except Exception as exc:  # seeds missing: team passages alone
        print(f"passages with seeds unavailable ({type(exc).__name__}); team passages only", file=sys.stderr)
        passages = [p.text for p in load_passages(with_seeds=False)]
    articles = [a.text for a in load_articles()]
    pages = [f.read_text(encoding="utf-8") for f in sorted(Path(cache_dir()).glob("*.txt"))] \
        if Path(cache_dir()).is_dir() else []

    def paragraphs(texts: list[str]) -> list[str]:
        return [p for t in texts for p in t.split("\n\n") if p.strip()]
    return {"passages": passages, "articles": articles, "article paragraphs": paragraphs(articles),
            "real pages": pages, "real-page paragraphs": paragraphs(pages)}


def main() -> int:
    from tokenizers import Tokenizer

    from narratives.model.e5convert import e5_model_dir
    from narratives.model.e5tokens import lean_tokenizer
    from narratives.model.translit import latinize_serbian

    ref = Tokenizer.from_file(str(e5_model_dir() / "tokenizer.json"))
    lean = lean_tokenizer(512)
    bad = total = 0
    t_ref = t_lean = 0.0
    for name, texts in corpora().items():
        for form, batch in (("as is", texts), ("encoder input", ["query: " + t for t in latinize_serbian(texts)])):
            t0 = time.perf_counter()
            want = [e.ids[1:-1] for e in ref.encode_batch(batch)]
            t1 = time.perf_counter()
            lean._cache.clear()
            have = [lean.ids(t) for t in batch]
            t2 = time.perf_counter()
            t_ref, t_lean = t_ref + t1 - t0, t_lean + t2 - t1
            wrong = [i for i, (a, b) in enumerate(zip(have, want)) if a != b]
            bad, total = bad + len(wrong), total + len(batch)
            tokens = sum(map(len, want))
            print(f"{name:22s} {form:14s} {len(batch):6d} texts {tokens:9d} tokens  mismatches {len(wrong)}"
                  + (f" (indices {wrong[:10]})" if wrong else ""))
    truncated = [e.ids for e in ref.encode_batch(["query: " + "Kosovo je presedan. " * 400] * 2)]
    print(f"{total} texts, {bad} mismatches; tokenizers {t_ref:.2f} s (all threads), lean {t_lean:.2f} s "
          f"(one thread, each corpus with an empty word cache)")
    return 1 if bad or lean.encode_ids(["query: " + "Kosovo je presedan. " * 400])[0] != truncated[0][:511] + [2] \
        else 0


if __name__ == "__main__":
    sys.exit(main())
