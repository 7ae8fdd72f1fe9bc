"""LoRA adapters through ``peft``, for every kind that fine-tunes an encoder (``transformer``, ``e5-lora``).

``W x + (alpha / r) * B A x`` with ``A`` (r x in) and ``B`` (out x r); ``B`` starts at zero, so an
adapted encoder starts as the pretrained one. Only ``A`` and ``B`` are trained and saved; for inference
they are merged into the base weights (``merge_and_unload``), so the encoder runs as fast as the
pretrained one.

Two tensor namings are on disk. ``e5-lora`` saves peft's own state names
(``base_model.model.<layer>.lora_A.weight``). The ``transformer`` kind's saved files predate peft and use
``<layer>.lora_A``; :func:`from_legacy` and :func:`to_legacy` map those names onto peft's modules, so those
files stay byte-identical (and their model hashes unchanged).

>>> from_legacy("encoder.layer.0.attention.self.query.lora_A")
'base_model.model.encoder.layer.0.attention.self.query.lora_A.weight'
>>> to_legacy(from_legacy("encoder.layer.0.output.dense.lora_B"))
'encoder.layer.0.output.dense.lora_B'
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .artifact import ModelLoadError

_PREFIX, _SUFFIX = "base_model.model.", ".weight"


def from_legacy(name: str) -> str:
    """peft's state name for a pre-peft adapter tensor name (``<layer>.lora_A`` / ``<layer>.lora_B``)."""
    if not name.endswith((".lora_A", ".lora_B")):
        raise ValueError(f"not an adapter tensor name: {name!r}")
    return _PREFIX + name + _SUFFIX


def to_legacy(name: str) -> str:
    """The pre-peft name of one of peft's adapter state names (the inverse of :func:`from_legacy`)."""
    if not (name.startswith(_PREFIX) and name.endswith((".lora_A" + _SUFFIX, ".lora_B" + _SUFFIX))):
        raise ValueError(f"not a peft adapter state name: {name!r}")
    return name[len(_PREFIX):-len(_SUFFIX)]


def linear_names(model: Any, suffixes: Sequence[str]) -> list[str]:
    """The qualified names of ``model``'s ``nn.Linear`` layers that end with one of ``suffixes`` (sorted).

    >>> import torch
    >>> m = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    >>> linear_names(m, ("2",))
    ['2']
    """
    from torch import nn

    return sorted(n for n, m in model.named_modules() if isinstance(m, nn.Linear) and n.endswith(tuple(suffixes)))


def lora_config(targets: Sequence[str], r: int, alpha: float) -> Any:
    """The peft configuration: adapters of rank ``r`` and scale ``alpha / r`` on the named ``targets``, no
    dropout, no bias."""
    from peft import LoraConfig

    # peft annotates lora_alpha as int but only divides by it; the transformer kind's alpha is a float
    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, bias="none",  # type: ignore[arg-type]
                      target_modules=list(targets))


def add_adapters(model: Any, targets: Sequence[str], r: int, alpha: float) -> Any:
    """``model`` with fresh adapters on ``targets`` (a peft model); everything else is frozen.

    >>> import torch
    >>> m = add_adapters(torch.nn.Sequential(torch.nn.Linear(4, 3)), ["0"], r=2, alpha=4)
    >>> sorted(k.rsplit(".", 2)[-2] for k in adapter_state(m))
    ['lora_A', 'lora_B']
    >>> sum(p.numel() for p in m.parameters() if p.requires_grad)  # A (2 x 4) and B (3 x 2)
    14
    """
    import warnings

    from peft import get_peft_model

    with warnings.catch_warnings():  # peft asks transformers a question transformers 5 has renamed
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
        return get_peft_model(model, lora_config(targets, r, alpha))


def adapter_state(model: Any) -> dict[str, Any]:
    """The adapter tensors of a peft model, by peft's state names (detached copies)."""
    from peft import get_peft_model_state_dict

    return {k: v.detach().clone().contiguous() for k, v in get_peft_model_state_dict(model).items()}


def merge_adapters(model: Any, targets: Sequence[str], r: int, alpha: float, tensors: dict[str, Any],
                   where: str) -> Any:
    """``model`` with the saved adapter ``tensors`` (torch or numpy, by peft's state names) merged into its
    weights and unwrapped: a plain frozen model in eval mode. A set of tensors that does not match the
    targets is a ``ModelLoadError`` naming ``where``.

    >>> import copy, torch
    >>> base = torch.nn.Sequential(torch.nn.Linear(4, 3))
    >>> trained = add_adapters(copy.deepcopy(base), ["0"], r=2, alpha=4)
    >>> _ = torch.nn.init.constant_(trained.base_model.model[0].lora_B.default.weight, 0.1)
    >>> want = trained(torch.ones(1, 4))
    >>> merged = merge_adapters(base, ["0"], 2, 4, adapter_state(trained), "m")
    >>> isinstance(merged[0], torch.nn.Linear), torch.allclose(merged(torch.ones(1, 4)), want, atol=1e-6)
    (True, True)
    """
    import numpy as np
    import torch
    from peft import get_peft_model_state_dict, set_peft_model_state_dict

    peft_model = add_adapters(model, targets, r, alpha)
    state = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in tensors.items()}
    expected = get_peft_model_state_dict(peft_model)
    if set(state) != set(expected):
        raise ModelLoadError(f"{where}: adapter tensors do not match the encoder's LoRA layers")
    for k, v in state.items():
        if tuple(v.shape) != tuple(expected[k].shape):
            raise ModelLoadError(f"{where}: adapter tensor {k} has shape {tuple(v.shape)}, "
                                 f"the encoder needs {tuple(expected[k].shape)}")
    set_peft_model_state_dict(peft_model, state)
    merged = peft_model.merge_and_unload()
    for p in merged.parameters():
        p.requires_grad_(False)
    return merged.eval()
