"""Low-rank adapters (LoRA) for the encoder's linear layers, in a few lines of torch.

``W x + (alpha / r) * B A x`` with ``A`` (r x in) and ``B`` (out x r); ``B`` starts at zero, so an
adapted encoder starts as the pretrained one. Only ``A`` and ``B`` are trained and saved.

>>> import torch
>>> layer = LoRALinear(torch.nn.Linear(4, 3), r=2, alpha=4)
>>> torch.equal(layer(torch.ones(1, 4)), layer.base(torch.ones(1, 4)))
True
"""
from __future__ import annotations

import torch
from torch import nn


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0):
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.r, self.scale = r, alpha / r
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.lora_A, a=5 ** 0.5)
        self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (self.dropout(x) @ self.lora_A.T @ self.lora_B.T) * self.scale


def add_lora(model: nn.Module, targets: tuple[str, ...], r: int, alpha: float, dropout: float = 0.0) -> list[str]:
    """Wrap every ``nn.Linear`` whose qualified name ends with one of ``targets``; freeze everything
    else. Returns the wrapped names (sorted)."""
    for p in model.parameters():
        p.requires_grad_(False)
    names = sorted(n for n, m in model.named_modules() if isinstance(m, nn.Linear) and n.endswith(targets))
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, LoRALinear(getattr(parent, child), r, alpha, dropout))
    return names


def lora_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The adapter tensors only (names end in ``lora_A`` / ``lora_B``)."""
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items() if k.endswith(("lora_A", "lora_B"))}


def merge_lora(model: nn.Module) -> int:
    """Fold every adapter into its base layer (``W += scale * B @ A``) and unwrap it, for inference: the
    merged encoder is a plain one, as fast as the pretrained model. Returns the number of layers merged.

    >>> m = nn.Sequential(nn.Linear(4, 3))
    >>> _ = add_lora(m, ("0",), r=2, alpha=4)
    >>> with torch.no_grad():
    ...     _ = m[0].lora_B.fill_(0.1)
    ...     before = m(torch.ones(1, 4))
    ...     n = merge_lora(m)
    ...     after = m(torch.ones(1, 4))
    >>> n, isinstance(m[0], nn.Linear), torch.allclose(before, after, atol=1e-6)
    (1, True, True)
    """
    names = [n for n, m in model.named_modules() if isinstance(m, LoRALinear)]
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        layer: LoRALinear = getattr(parent, child)
        with torch.no_grad():
            layer.base.weight += layer.scale * (layer.lora_B @ layer.lora_A)
        setattr(parent, child, layer.base)
    for p in model.parameters():
        p.requires_grad_(False)
    return len(names)
