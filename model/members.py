"""Member models of a combined model (routed, ensemble): loaded by reference and pinned by hash.

>>> pinned_problem("m", "abc", "abc", "x") is None
True
"""
from __future__ import annotations

from pathlib import Path


def load_member(ref: str, base_dir: str | Path | None = None):
    """A member by reference: a folder beside the combined model first, else a model name, version or path."""
    from .loading import load_model

    local = Path(base_dir) / ref if base_dir is not None else None
    return load_model(local if local is not None and local.is_dir() else ref)


def pinned_problem(name: str, found_hash: str, pinned_hash: str, rebuild: str) -> str | None:
    """The message when a member is no longer the version the combined model was built on, else None."""
    if found_hash == pinned_hash:
        return None
    return (f"member {name!r} is version {found_hash[:12]}, but this model was built on {pinned_hash[:12]}; "
            f"rebuild it with `{rebuild}`")
