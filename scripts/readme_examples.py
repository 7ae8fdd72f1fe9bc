"""The README's example outputs, computed from the shipped default model, so the README cannot drift.

Each example sits between ``<!-- readme-example: NAME -->`` and ``<!-- /readme-example -->`` in README.md.
``tests/serve/test_readme.py`` recomputes every one with the shipped default and compares it with the
README (decimals within 0.002 on a CPU of the kind that wrote them, :data:`MADE_ON`, within
:data:`OTHER_CPU_TOL` on another, whose float arithmetic differs a little, see
:mod:`narratives.model.int8sums`; everything else exactly); after the default model changes, run

    python scripts/readme_examples.py --write

to rewrite them, and read the diff: the examples are chosen to show what the default gets right *and*
what it gets wrong (the sample table), so a new default may need new prose around them.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SAMPLES = ROOT / "data" / "samples"
# The example passage of `narratives predict`, `predict()` and the HTTP section (team-written).
PASSAGE = "Kosovo was allowed to leave Serbia, so Crimea was allowed to leave Ukraine."
# The README's Serbian example, said to carry kosovo_precedent (tests/serve/test_readme.py checks it).
SERBIAN = "Косово је било преседан за Крим."
SCORE_SAMPLE = "07_state_media_nato_bases.txt"
# The int8 kernel (narratives.model.int8sums.int8_kernel) of the machine that last wrote the examples. On a CPU
# without VNNI the int8 sums are made exact (narratives.model.int8sums), and what is left of the difference (float
# arithmetic of other vector widths) moved one example score by 0.0023 on the 2026-12-06 night machine (avx2; the
# CPU's own saturating kernel moved them by up to 0.012), so on another kind of CPU decimals are compared within
# OTHER_CPU_TOL, and the text (narratives, stances) still exactly.
MADE_ON = "avx2"  # since 2026-12-07, fifth session (the default changed on an AVX2 machine); "vnni" before
#: the other int8 kernel a machine may have (its decimals are compared within OTHER_CPU_TOL)
OTHER_KERNEL = "vnni" if MADE_ON == "avx2" else "avx2"
OTHER_CPU_TOL = 0.01
BLOCK = re.compile(r"(<!-- readme-example: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /readme-example -->)", re.S)


def _short(text: str, n: int = 44) -> str:
    return text if len(text) <= n else text[:n].rstrip() + "…"


def _predict_block() -> str:
    from narratives.serve import predict

    r = predict(PASSAGE)
    scores = ", ".join(f"'{k}': {v}" for k, v in r["scores"].items())
    return "\n".join([
        "```python",
        "from narratives.serve import predict",
        "",
        f'predict("{PASSAGE}")',
        f"# {{'scores': {{{scores}}},",
        f"#  'narratives': {r['narratives']!r}, 'stance': {r['stance']!r}, 'stance_score': {r['stance_score']},",
        f"#  'model_version': {r['model_version']!r}, 'model_hash': '{r['model_hash'][:8]}…', "
        f"'text_sha256': '{r['text_sha256'][:8]}…',",
        f"#  'lang': {r['lang']!r}, 'warnings': {r['warnings']!r}}}",
        "```",
        "",
    ])


def _score_records() -> list[dict]:
    from narratives.serve import score_articles
    from narratives.serve.readers import read_articles

    return list(score_articles(read_articles([str(SAMPLES)])))


def _score_block(records: list[dict]) -> str:
    rec = next(r for r in records if str(r["source"]).endswith(SCORE_SAMPLE))
    evidence = {n: [{**e, "text": _short(e["text"])} for e in ev] for n, ev in rec["evidence"].items()}
    lines = ["```json", "{" + f'"id": {json.dumps(rec["id"])}, "source": "data/samples/{SCORE_SAMPLE}",',
             f' "narratives": {json.dumps(rec["narratives"])}, "stance": {json.dumps(rec["stance"])}, '
             f'"stances": {json.dumps(rec["stances"])},',
             f' "scores": {json.dumps(rec["scores"])},', ' "evidence": {']
    for i, (n, ev) in enumerate(evidence.items()):
        lines.append(f'   {json.dumps(n)}: [')
        lines += [f"     {json.dumps(e, ensure_ascii=False)}" + ("," if j < len(ev) - 1 else "") for j, e in enumerate(ev)]
        lines.append("   ]" + ("," if i < len(evidence) - 1 else ""))
    lines += [" },", f' "n_passages": {rec["n_passages"]}, "model_version": {json.dumps(rec["model_version"])}, '
              f'"model_hash": "{rec["model_hash"][:16]}…",',
              f' "text_sha256": "{rec["text_sha256"][:16]}…", "lang": {json.dumps(rec["lang"])}, '
              f'"errors": {json.dumps(rec["errors"])}, "warnings": {json.dumps(rec["warnings"])}}}', "```", ""]
    return "\n".join(lines)


def _samples_block(records: list[dict]) -> str:
    """A table of the default's calls on every sample article, then its misses in words: a neutral
    article flagged, a stance other than the file name's (``state_media``/``progov``: promotes,
    ``critical``: reports), a second narrative beside the article's own."""
    lines = ["| sample article | narratives found by the default | stance |", "|---|---|---|"]
    records = sorted(records, key=lambda r: str(r["source"]))
    for r in records:
        found = ", ".join(f"`{n}` ({r['scores'][n]:.2f})" for n in r["narratives"]) or "none"
        lines.append(f"| `{Path(str(r['source'])).name}` | {found} | {r['stance']} |")
    name = lambda r: f"`{Path(str(r['source'])).stem}`"  # noqa: E731
    expected = lambda r: "none" if "neutral" in str(r["source"]) else \
        "reports" if "critical" in str(r["source"]) else "promotes"  # noqa: E731
    misses = [("neutral but flagged", [name(r) for r in records if expected(r) == "none" and r["narratives"]]),
              ("stance other than the article's", [name(r) for r in records
                                                   if expected(r) != "none" and r["stance"] != expected(r)]),
              ("a second narrative found", [name(r) for r in records if len(r["narratives"]) > 1])]
    said = [f"{what}: {', '.join(which)}" for what, which in misses if which]
    lines += ["", "Misses of the default on these articles: " + ("; ".join(said) if said else "none") + "."]
    return "\n".join(lines) + "\n"


def blocks() -> dict[str, str]:
    """Every README example, freshly computed with the shipped default model."""
    records = _score_records()
    return {"predict": _predict_block(), "score": _score_block(records), "samples": _samples_block(records)}


def readme_blocks(text: str) -> dict[str, str]:
    return {m.group("name"): m.group("body") for m in BLOCK.finditer(text)}


_NUM = re.compile(r"(?<![\w.])-?\d+\.\d+(?![\w.])")


def tolerance(kernel: str | None = None) -> float:
    """How far the README's decimals may be from the default's on this machine: 0.002 on a CPU of the kind that
    wrote them (:data:`MADE_ON`), :data:`OTHER_CPU_TOL` on another.

    >>> tolerance(MADE_ON), tolerance(OTHER_KERNEL)
    (0.002, 0.01)
    """
    if kernel is None:
        from narratives.model.int8sums import int8_kernel

        kernel = int8_kernel()
    return 0.002 if kernel == MADE_ON else OTHER_CPU_TOL


def differences(readme: str, fresh: str, tol: float = 0.002) -> list[str]:
    """Where ``readme`` differs from ``fresh``: decimals by more than ``tol``, any other text at all."""
    a, b = _NUM.split(readme), _NUM.split(fresh)
    na, nb = _NUM.findall(readme), _NUM.findall(fresh)
    if a != b or len(na) != len(nb):
        import difflib

        return list(difflib.unified_diff(readme.splitlines(), fresh.splitlines(), "README", "default", lineterm=""))
    # a figure printed with two decimals may round the other way: allow one unit of its last digit
    return [f"{x} in the README, {y} now" for x, y in zip(na, nb)
            if abs(float(x) - float(y)) > max(tol, 1.01 * 10 ** -len(x.split(".")[1]))]


def write(path: Path = README) -> list[str]:
    """Rewrite the README's examples in place; returns the names that changed. On a machine whose int8 kernel is
    not :data:`MADE_ON` it refuses: set :data:`MADE_ON` to that kernel in the same change, so the test knows which
    machines reproduce the examples to the last digits."""
    from narratives.model.int8sums import int8_kernel

    if int8_kernel() != MADE_ON:
        raise SystemExit(f"this machine's int8 kernel is {int8_kernel()!r}, the examples' MADE_ON is {MADE_ON!r}: "
                         "set MADE_ON to it in scripts/readme_examples.py, then write")
    text = path.read_text(encoding="utf-8")
    fresh = blocks()
    changed = [n for n, body in readme_blocks(text).items() if n in fresh and body != fresh[n]]
    new = BLOCK.sub(lambda m: m.group(1) + fresh.get(m.group("name"), m.group("body")) + m.group(4), text)
    if new != text:
        tmp = path.with_suffix(".md.tmp")
        tmp.write_text(new, encoding="utf-8")
        tmp.replace(path)
    return changed


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python scripts/readme_examples.py --write")
    print("rewrote:", ", ".join(write()) or "nothing (already current)")
