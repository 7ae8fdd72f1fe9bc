"""Training the ``e5-lora`` adapters: peft LoRA on the top layers of the converted multilingual-e5-small.

The layers below the adapters are frozen and need no gradient, so their output is computed once per
passage (no dropout) and each epoch runs only the adapted top layers, forward and backward, in the loop
shared with the ``transformer`` kind (:mod:`narratives.model.finetune`); the adapters are peft's, built and
merged by :mod:`narratives.model.lora`.

>>> from narratives.model.e5lora import E5LoraClassifier
>>> adapted(E5LoraClassifier(lora_layers=1))[:2]
['encoder.layer.11.attention.output.dense', 'encoder.layer.11.attention.self.key']
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .e5lora import N_LAYERS


def adapted(clf) -> list[str]:
    """The qualified names of the linear layers that carry adapters (``XLMRobertaModel`` names)."""
    return [f"encoder.{t}" for t in clf.lora_targets()]


def plain_encoder():
    """The converted multilingual-e5-small as a frozen ``XLMRobertaModel`` (no pooler)."""
    from transformers import XLMRobertaModel
    from transformers.utils import logging as hf_logging

    from .e5convert import e5_model_dir

    hf_logging.set_verbosity_error()
    model = XLMRobertaModel.from_pretrained(str(e5_model_dir()), add_pooling_layer=False)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def build(clf, n_labels: int) -> None:
    """The torch encoder with fresh adapters, and fresh heads (training)."""
    import torch

    from .lora import add_adapters

    if clf.threads:
        torch.set_num_threads(clf.threads)
    clf.encoder_ = add_adapters(plain_encoder(), adapted(clf), clf.lora_r, int(clf.lora_alpha))
    hidden = clf.encoder_.config.hidden_size
    clf.head_ = torch.nn.Linear(hidden, n_labels)
    clf.stance_head_ = torch.nn.Linear(hidden, 1)


def merged_encoder(clf, adapters: dict):
    """The torch encoder with saved ``adapters`` (numpy) merged in (torch runtime, or an ONNX rebuild)."""
    from .lora import merge_adapters

    return merge_adapters(plain_encoder(), adapted(clf), clf.lora_r, int(clf.lora_alpha), adapters, clf.path_)


def _attention_mask(m, mask, h):
    """The encoder layers' attention mask for ``mask`` (batch, tokens), through transformers' public helper
    (the model's own private method changed its signature between 5.24 and 5.25)."""
    from transformers.masking_utils import create_bidirectional_mask

    return create_bidirectional_mask(config=m.config, inputs_embeds=h, attention_mask=mask)


def lower_states(clf, ids: list[list[int]]) -> list:
    """Hidden states after the layers below the adapters (no dropout, no gradient), per passage."""
    import torch

    from .e5onnx import length_batches, pad

    m = clf.encoder_.get_base_model()
    first = N_LAYERS - clf.lora_layers
    out: list = [None] * len(ids)
    with torch.inference_mode():
        m.eval()
        for idx in length_batches(ids):
            input_ids, mask = (torch.from_numpy(a) for a in pad([ids[i] for i in idx]))
            h = m.embeddings(input_ids=input_ids)
            am = _attention_mask(m, mask, h)
            for layer in m.encoder.layer[:first]:
                h = layer(h, am)
            for row, i in enumerate(idx):
                out[i] = h[row, :len(ids[i])].clone()
    return out

def upper_pool(clf, states: list):
    """Mean-pooled output of the adapted top layers (with gradient) on cached lower states."""
    import torch

    m = clf.encoder_.get_base_model()
    width = max(len(x) for x in states)
    h = torch.zeros(len(states), width, states[0].shape[1])
    mask = torch.zeros(len(states), width, dtype=torch.long)
    for i, x in enumerate(states):
        h[i, :len(x)] = x
        mask[i, :len(x)] = 1
    am = _attention_mask(m, mask, h)
    for layer in m.encoder.layer[N_LAYERS - clf.lora_layers:]:
        h = layer(h, am)
    w = mask.unsqueeze(-1).to(h.dtype)
    return (h * w).sum(1) / w.sum(1).clamp(min=1.0)


def train_adapters(clf, texts: Sequence[str], narratives: Sequence, stances: Sequence, n_prior: int, log) -> None:
    """Build ``clf``'s encoder and heads and train them (the last ``n_prior`` rows are description-prior
    rows: narrative heads only, never the stance head)."""
    from .finetune import targets, train_heads

    build(clf, len(clf.labels_))
    ids = clf.tokenize(texts)
    lengths = np.array([len(x) for x in ids])
    lower = lower_states(clf, ids)  # the frozen layers below the adapters run once, not every epoch
    Y, promo, has = targets(clf.labels_, narratives, stances, [True] * (len(texts) - n_prior) + [False] * n_prior)
    train_heads(clf, lengths, Y, promo, has, lambda idx: upper_pool(clf, [lower[int(i)] for i in idx]), log,
                "training e5-lora")
