"""Peak memory of `narratives score` as the number of articles grows, for several models in one run.

    python benchmarks/score_memory.py --models ensemble e5-lora --articles 10000 --at 1000 10000 [--out mem.json]

1. Builds one JSONL file of --articles articles from the team-written passages in data/labels/team_*.jsonl
   (no third-party text; --source headlines: only the short headlines of team_headlines.jsonl, so that
   10,000 articles fit in a run of a slow model on 2 cores; --source samples: the team-written sample
   articles of data/samples, whole, for the peak at the longest passages): article i joins --passages consecutive
   passages of a fixed, language-interleaved order (the languages in their proportions), with its own id
   and an `outlet` field.
2. For each model in --models, after a warm-up run on 2 articles (a first use builds the converted encoder
   and the ONNX export into the cache: not what is measured), runs `narratives score FILE -o OUT --model M`
   in a child process and, while it runs, reads the child's /proc status every --poll seconds: its peak
   resident memory so far (VmHWM) when the output first holds at least each count in --at (JSONL records
   are flushed one by one), and its final peak (ru_maxrss at exit). Flat memory: the peak at 10,000
   articles is close to the one at 1,000.
3. Prints a table per model: peak RSS at each count, the ratio of the last count's peak to the first's,
   articles/s and passages/s of the whole run (child start-up and model load included).
4. With ``--before REF`` (a git ref: ``main``, a commit), each model also runs on the code of that ref
   (``git archive`` of model/, serve/ and train/ into a temporary folder put first on the child's
   PYTHONPATH), just before the working tree's run: before and after on the same articles, in one run, as
   rows ``MODEL@REF`` and ``MODEL``, with the ratio of their peaks.

Memory that grows with the number of articles (a list of records, a set of every id) shows as a ratio
above 1; the peak inside one batch (--batch-size passages at a time) is the same at every count.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHILD = r"""
import resource, sys
import narratives.serve
from narratives.serve.cli import main
print("CODE", narratives.serve.__file__, file=sys.stderr)
try:
    main(sys.argv[1:], standalone_mode=True)
except SystemExit as e:
    code = e.code
print("BENCH", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, code, file=sys.stderr)
"""


def team_passages(pattern: str = "team_*.jsonl", labels: Path = REPO / "data" / "labels") -> list[tuple[str, str]]:
    """(language, text) of the team-written passages in the label files matching ``pattern``, languages
    interleaved in their proportions.

    >>> ps = team_passages()
    >>> len(ps) > 1000 and len({lang for lang, _ in ps[:50]}) > 2
    True
    """
    by_lang: dict[str, list[str]] = {}
    for path in sorted(labels.glob(pattern)):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                by_lang.setdefault(row.get("lang") or "und", []).append(row["text"])
    total = sum(len(v) for v in by_lang.values())
    # each passage gets the position (k + 0.5) / n of its language's n passages: a merge by position interleaves
    keyed = [((k + 0.5) / len(v), lang, t) for lang, v in sorted(by_lang.items()) for k, t in enumerate(v)]
    keyed.sort(key=lambda x: (x[0], x[1]))
    assert len(keyed) == total
    return [(lang, t) for _, lang, t in keyed]


SOURCES = {"passages": "team_*.jsonl", "headlines": "team_headlines.jsonl", "samples": ""}


def sample_articles() -> list[tuple[str, str]]:
    """("en", text) of each team-written sample article in data/samples (several paragraphs each, long ones
    split into windows: the longest passages `narratives score` meets, so the highest peak per batch)."""
    return [("en", p.read_text(encoding="utf-8")) for p in sorted((REPO / "data" / "samples").glob("*.txt"))]


def make_articles(path: Path, n: int, per_article: int, source: str = "passages") -> int:
    """Write ``n`` articles of ``per_article`` passages each to ``path`` (JSONL), from every team-written
    passage (``source="passages"``), the team-written headlines only, or the whole sample articles
    (``"samples"``: one per article, ``per_article`` ignored); returns the passage count (samples: articles).

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d) / "a.jsonl"
    ...     make_articles(p, 3, 2), len(p.read_text(encoding="utf-8").splitlines())
    (6, 3)
    """
    ps = sample_articles() if source == "samples" else team_passages(SOURCES[source])
    per_article = 1 if source == "samples" else per_article
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            parts = [ps[(i * per_article + j) % len(ps)] for j in range(per_article)]
            fh.write(json.dumps({"id": f"m{i}", "text": "\n\n".join(t for _, t in parts),
                                 "outlet": f"desk-{parts[0][0]}"}, ensure_ascii=False) + "\n")
    return n * per_article


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in kB (empty once it has exited)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {k: int(v.split()[0]) for k, v in (x.split(":", 1) for x in lines) if k in ("VmRSS", "VmHWM")}


class _Lines:
    """Lines written to a file so far, reading only what was appended since the last call."""

    def __init__(self, path: Path):
        self.path, self.pos, self.n = path, 0, 0

    def __call__(self) -> int:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.pos)
                chunk = fh.read()
        except OSError:
            return self.n
        self.pos += len(chunk)
        self.n += chunk.count(b"\n")
        return self.n


def code_at(ref: str, dest: Path) -> Path:
    """A folder whose ``narratives`` package is the code of git ``ref`` (model/, serve/, train/ extracted
    with ``git archive``), to put first on PYTHONPATH: the package's portions are plain folders, so this
    one shadows the installed working tree."""
    tree = dest / "tree"
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", ref, "model", "serve", "train"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    pkg = dest / "path" / "narratives"
    pkg.mkdir(parents=True)
    for part in ("model", "serve", "train"):
        (pkg / part).symlink_to(tree / part, target_is_directory=True)
    return dest / "path"


def measure(src: Path, out: Path, model: str, at: list[int], poll: float, batch_size: int | None,
            code: Path | None = None) -> dict:
    """Run `narratives score` on ``src`` with ``model`` and record its peak RSS at each count in ``at``
    (on the code under ``code``, a :func:`code_at` folder, when given)."""
    cmd = [sys.executable, "-c", CHILD, "score", str(src), "-o", str(out), "--model", model, "--no-progress"]
    if batch_size:
        cmd += ["--batch-size", str(batch_size)]
    t0 = time.perf_counter()
    log = out.with_suffix(".stderr")  # a file, not a pipe: a chatty child never blocks on a full pipe
    peaks: dict[str, float] = {}
    pending = sorted(at)
    lines = _Lines(out)
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), *filter(None, [env.get("PYTHONPATH")])])
    load = os.getloadavg()[0]
    with open(log, "w", encoding="utf-8") as fh:
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=fh, env=env)
        while child.poll() is None:
            time.sleep(poll)
            hwm = _status(child.pid).get("VmHWM")
            done = lines()
            while pending and done >= pending[0] and hwm is not None:
                peaks[str(pending.pop(0))] = round(hwm / 1024, 1)
                print(f"{model}: {done} articles, peak RSS {hwm / 1024:.0f} MB", file=sys.stderr, flush=True)
    secs = time.perf_counter() - t0
    err = log.read_text(encoding="utf-8", errors="replace")
    line = next((x for x in err.splitlines() if x.startswith("BENCH")), None)
    if line is None:
        raise RuntimeError(f"narratives score --model {model} failed:\n{err[-3000:]}")
    _, rss_kb, status = line.split()
    used = next(x.split(" ", 1)[1] for x in err.splitlines() if x.startswith("CODE "))
    if code is not None and not used.startswith(str(code)):
        raise RuntimeError(f"the child ran {used}, not the code under {code}")
    n = lines()
    passages = sum(json.loads(x)["n_passages"] for x in out.read_text(encoding="utf-8").splitlines())
    for count in pending:  # counts reached between the last poll and the exit
        if n >= count:
            peaks[str(count)] = round(int(rss_kb) / 1024, 1)
    return {"articles": n, "passages": passages, "exit": status, "seconds": round(secs, 1),
            "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
            "articles_per_second": round(n / secs, 2), "passages_per_second": round(passages / secs, 2),
            "peak_rss_mb_at": peaks, "peak_rss_mb_final": round(int(rss_kb) / 1024, 1)}


def table(res: dict) -> str:
    """The figures as a Markdown table, one row per model.

    >>> print(table({"at": [1, 2], "models": {"m": {"peak_rss_mb_at": {"1": 100.0, "2": 101.0},
    ...       "articles_per_second": 3.0, "passages_per_second": 6.0}}}))
    | model | peak RSS at 1 articles | peak RSS at 2 articles | ratio | articles/s | passages/s |
    |---|---|---|---|---|---|
    | m | 100 MB | 101 MB | 1.010 | 3.0 | 6.0 |
    """
    at = [str(a) for a in res["at"]]
    head = "| model | " + " | ".join(f"peak RSS at {a} articles" for a in at) + " | ratio | articles/s | passages/s |"
    rows = [head, "|" + "---|" * (len(at) + 4)]
    for model, r in res["models"].items():
        p = r["peak_rss_mb_at"]
        ratio = f"{p[at[-1]] / p[at[0]]:.3f}" if at[0] in p and at[-1] in p else "n/a"
        rows.append(f"| {model} | " + " | ".join(f"{p[a]:.0f} MB" if a in p else "n/a" for a in at)
                    + f" | {ratio} | {r['articles_per_second']} | {r['passages_per_second']} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["ensemble", "e5-lora"])
    ap.add_argument("--articles", type=int, default=10000)
    ap.add_argument("--at", type=int, nargs="+", default=[1000, 10000], help="article counts to read the peak at")
    ap.add_argument("--passages", type=int, default=1, help="team-written passages per article")
    ap.add_argument("--source", choices=sorted(SOURCES), default="passages",
                    help="every team-written passage (about 280 characters on average), only the headlines (about 50), "
                         "or the whole sample articles (about 9 passages each, up to 1,000 characters)")
    ap.add_argument("--batch-size", type=int, default=None, help="passed to narratives score [default: its own]")
    ap.add_argument("--poll", type=float, default=0.2, help="seconds between reads of the child's memory")
    ap.add_argument("--before", metavar="GIT_REF", default=None,
                    help="also run each model on the code of this git ref, just before the working tree's run")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if max(args.at) > args.articles:
        ap.error(f"--at {max(args.at)} is more than --articles {args.articles}")
    res: dict = {"articles": args.articles, "passages_per_article": args.passages, "source": args.source, "at": sorted(args.at),
                 "before": args.before, "load_average_at_start": os.getloadavg()[0], "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "articles.jsonl"
        make_articles(src, args.articles, args.passages, args.source)
        warm = Path(tmp) / "warm.jsonl"
        make_articles(warm, 2, args.passages, args.source)
        codes: list[tuple[str, Path | None]] = [("", None)]
        if args.before:
            codes.insert(0, (f"@{args.before}", code_at(args.before, Path(tmp) / "before")))
        for i, model in enumerate(args.models):
            for suffix, code in codes:
                name = model + suffix
                # a first use builds caches (the converted encoder, an ONNX export): not part of the measured run
                res.setdefault("warm_up_peak_rss_mb", {})[name] = measure(
                    warm, Path(tmp) / f"warm-{i}{suffix}.jsonl", model, [], args.poll, None, code)["peak_rss_mb_final"]
                out = Path(tmp) / f"scores-{i}{suffix}.jsonl"
                res["models"][name] = measure(src, out, model, args.at, args.poll, args.batch_size, code)
            if args.before:
                b, a = res["models"][model + codes[0][0]], res["models"][model]
                res.setdefault("after_over_before", {})[model] = round(a["peak_rss_mb_final"] / b["peak_rss_mb_final"], 3)
    res["load_average_at_end"] = os.getloadavg()[0]
    print(json.dumps(res, indent=2))
    print(table(res))
    if args.out:
        args.out.write_text(json.dumps(res, indent=2) + "\n")
    return res


if __name__ == "__main__":
    main()
