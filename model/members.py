"""Member models of a combined model (routed, ensemble): loaded by reference and pinned by hash.

The model layer never resolves a reference itself (names and versions live in the models directory,
a layer above): a combined model is *built* from loaded members, and loading one from its directory
takes a ``member_loader(ref, base_dir)`` from the caller (see :func:`narratives.model.loading.load_member`).

>>> pinned_problem("m", "abc", "abc", "x") is None
True
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .artifact import ModelLoadError


def load_members(refs: Iterable[str], base_dir: Path, member_loader) -> dict[str, Any]:
    """Each member by reference, through ``member_loader(ref, base_dir)``."""
    if member_loader is None:
        raise ModelLoadError("a combined model loads its members through a member loader; use "
                             "narratives.model.load_model (or pass member_loader=)")
    return {ref: member_loader(ref, base_dir) for ref in refs}


def check_labels(members: Mapping[str, Any]) -> list[str]:
    """The members' common label list; refuses members whose labels differ.

    >>> class M: labels_ = ["a"]
    >>> check_labels({"x": M(), "y": M()})
    ['a']
    """
    items = list(members.items())
    labels = list(items[-1][1].labels_)
    for name, m in items:
        if list(m.labels_) != labels:
            raise ValueError(f"member {name} has labels {m.labels_}, another has {labels}")
    return labels


def pinned_problem(name: str, found_hash: str, pinned_hash: str, rebuild: str) -> str | None:
    """The message when a member is no longer the version the combined model was built on, else None."""
    if found_hash == pinned_hash:
        return None
    return (f"member {name!r} is version {found_hash[:12]}, but this model was built on {pinned_hash[:12]}; "
            f"rebuild it with `{rebuild}`")
