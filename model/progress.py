"""Progress bars for long work, on standard error, with a total and an ETA, the way command-line tools
usually do it: shown only when standard error is a terminal, and never with ``narratives --quiet`` (which
sets ``NARRATIVES_QUIET=1``) or ``NARRATIVES_PROGRESS=0``.

>>> list(progress(range(3), desc="demo"))  # not a terminal under the tests: nothing is drawn
[0, 1, 2]
>>> enabled(force=False)
False
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any


def enabled(force: bool | None = None) -> bool:
    """Whether bars are drawn: ``force`` if given, else off when quiet, else when stderr is a terminal."""
    if force is not None:
        return force
    if os.environ.get("NARRATIVES_QUIET") == "1" or os.environ.get("NARRATIVES_PROGRESS") == "0":
        return False
    return sys.stderr.isatty()


def progress(iterable: Iterable | None = None, total: int | None = None, desc: str | None = None,
             unit: str = "it", force: bool | None = None, **kw: Any):
    """A tqdm bar over ``iterable`` (or a manual one: ``bar.update(n)``), drawn only when :func:`enabled`."""
    import shutil

    from tqdm import tqdm

    size = shutil.get_terminal_size()  # a terminal that reports no size is taken as 80 x 24
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not enabled(force), file=sys.stderr,
                ncols=min(size.columns or 80, 120), nrows=max(size.lines, 2) if size.lines > 0 else 24, leave=False,
                **kw)


def quiet_libraries() -> None:
    """Silence the libraries' own bars (transformers' "Loading weights"): ours say what is going on."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        return
    hf_logging.disable_progress_bar()
