"""Progress on long work: a bar with a total on a terminal (a pseudo-terminal here), none with --quiet or
when standard error is not a terminal, and no library's own bar (transformers' "Loading weights")."""
from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def on_a_terminal(*args: str, timeout: int = 300) -> str:
    """Run ``narratives ARGS`` with standard error on a pseudo-terminal; return what it drew there."""
    import fcntl
    import struct
    import termios

    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a 120 x 24 terminal
    proc = subprocess.Popen([sys.executable, "-m", "narratives.serve.cli", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=child, cwd=ROOT,
                            env={**os.environ, "COLUMNS": "120", "NARRATIVES_QUIET": "0"})
    os.close(child)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=timeout)
    os.close(main)
    return out.decode("utf-8", "replace")


def test_score_shows_a_total_on_a_terminal_and_nothing_when_quiet(tmp_path):
    drawn = on_a_terminal("score", "data/samples", "--model", "baseline", "-o", str(tmp_path / "s.jsonl"))
    assert "scoring" in drawn and "/14 [" in drawn, drawn[-2000:]  # a total, and the ETA in brackets
    quiet = on_a_terminal("--quiet", "score", "data/samples", "--model", "baseline", "-o", str(tmp_path / "q.jsonl"))
    assert "/14 [" not in quiet and "scored 14 article(s)" in quiet


def test_evaluate_shows_progress(tmp_path):
    if not (ROOT.parent / "shared" / "seeds").is_dir() and not os.environ.get("NARRATIVES_CORPUS"):
        pytest.skip("the seed corpus is not beside the checkout")
    drawn = on_a_terminal("evaluate", "baseline", "--split", "dev", "--compare", "none")
    assert "scoring labelled passages" in drawn and "passage" in drawn, drawn[-2000:]


def test_no_library_bar_when_a_transformer_loads():
    pytest.importorskip("transformers")
    drawn = on_a_terminal("predict", "--model", "minilm-lora", "Kosovo was the precedent for Crimea.")
    assert "Loading weights" not in drawn, drawn[-2000:]
