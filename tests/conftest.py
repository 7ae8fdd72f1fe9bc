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
