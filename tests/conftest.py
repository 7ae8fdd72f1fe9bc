"""Shared fixtures: the tiny label folder and corpus, and one tiny model trained once per session."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HOME", str(Path(__file__).resolve().parents[1] / ".hf_home"))

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture()
def labels_dir(tmp_path) -> Path:
    """A writable copy of the tiny label folder."""
    dst = tmp_path / "labels"
    shutil.copytree(FIXTURES / "labels", dst)
    return dst


@pytest.fixture()
def corpus_dir() -> Path:
    return FIXTURES / "corpus"


@pytest.fixture()
def articles_dir() -> Path:
    return FIXTURES / "articles"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    from narratives.train import train

    out = tmp_path_factory.mktemp("models") / "tiny"
    train(labels=FIXTURES / "labels", corpus=FIXTURES / "corpus", out=out, cv_folds=3, log=open(os.devnull, "w"))
    return out


HUGE = 100 * 2**20  # the "100 MB line" of the hardening tests


@pytest.fixture()
def write_huge_line():
    """``write(path, prefix, suffix=b"\\n", mode="ab")`` writes ``prefix`` + 100 MB of ``a`` + ``suffix``
    in 1 MB blocks (the test never holds the line in memory); the files are removed afterwards, so kept
    pytest temporary folders do not fill the disk."""
    written: list[Path] = []

    def write(path: Path, prefix: bytes, suffix: bytes = b"\n", mode: str = "ab") -> Path:
        block = b"a" * 2**20
        with open(path, mode) as fh:
            fh.write(prefix)
            for _ in range(HUGE // len(block)):
                fh.write(block)
            fh.write(suffix)
        written.append(path)
        return path

    yield write
    for p in written:
        p.unlink(missing_ok=True)


@pytest.fixture()
def peak_memory():
    """A context manager measuring the peak Python allocation (bytes) inside it, via tracemalloc."""
    import contextlib
    import tracemalloc

    @contextlib.contextmanager
    def measure():
        box = {"peak": 0}
        tracemalloc.start()
        try:
            yield box
        finally:
            box["peak"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()

    return measure
