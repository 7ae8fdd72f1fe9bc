"""Training the ``e5-lora`` adapters: peft LoRA on the top layers of the converted multilingual-e5-small.

The layers below the adapters are frozen and need no gradient, so their output is computed once per
passage (no dropout) and each epoch runs only the adapted top layers, forward and backward. Batches are
shuffled, of similar length, and seeded: the same data, seed, machine and versions give the same bytes.

>>> import numpy as np
>>> from narratives.model.e5lora import E5LoraClassifier
>>> sorted(len(b) for b in batches(E5LoraClassifier(batch_size=2), np.array([3, 1, 2]), np.random.default_rng(0)))
[1, 2]
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .artifact import ModelLoadError
from .e5lora import N_LAYERS


def lora_config(clf):
    """The peft configuration for ``clf``'s adapted layers."""
    from peft import LoraConfig

    return LoraConfig(r=clf.lora_r, lora_alpha=int(clf.lora_alpha), lora_dropout=0.0, bias="none",
                      target_modules=[f"encoder.{t}" for t in clf.lora_targets()])


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
    from peft import get_peft_model

    if clf.threads:
        torch.set_num_threads(clf.threads)
    clf.encoder_ = get_peft_model(plain_encoder(), lora_config(clf))
    hidden = clf.encoder_.config.hidden_size
    clf.head_ = torch.nn.Linear(hidden, n_labels)
    clf.stance_head_ = torch.nn.Linear(hidden, 1)


def merged_encoder(clf, adapters: dict):
    """The torch encoder with saved ``adapters`` (numpy) merged in (torch runtime, or an ONNX rebuild)."""
    import torch
    from peft import get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict

    model = get_peft_model(plain_encoder(), lora_config(clf))
    tensors = {k: torch.from_numpy(v) for k, v in adapters.items()}
    if set(tensors) != set(get_peft_model_state_dict(model)):
        raise ModelLoadError(f"{clf.path_}: adapter tensors do not match the encoder's LoRA layers")
    set_peft_model_state_dict(model, tensors)
    return model.merge_and_unload().eval()


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
            am = m._create_attention_masks(mask, None, h, None, None)[0]
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
    am = m._create_attention_masks(mask, None, h, None, None)[0]
    for layer in m.encoder.layer[N_LAYERS - clf.lora_layers:]:
        h = layer(h, am)
    w = mask.unsqueeze(-1).to(h.dtype)
    return (h * w).sum(1) / w.sum(1).clamp(min=1.0)


def batches(clf, lengths: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length (less padding), in shuffled order."""
    order = rng.permutation(len(lengths))
    chunk = clf.batch_size * 8
    batches = []
    for i in range(0, len(order), chunk):
        block = order[i:i + chunk]
        block = block[np.argsort(lengths[block], kind="stable")]
        batches += [block[j:j + clf.batch_size] for j in range(0, len(block), clf.batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]

# ---- training ---------------------------------------------------------------------------------


def train_adapters(clf, texts: Sequence[str], narratives: Sequence, stances: Sequence, n_prior: int, log) -> None:
    """Build ``clf``'s encoder and heads and train them (the last ``n_prior`` rows are description-prior
    rows: narrative heads only, never the stance head)."""
    import torch

    labels = clf.labels_
    build(clf, len(labels))
    ids = clf.tokenize(texts)
    lengths = np.array([len(x) for x in ids])
    lower = lower_states(clf, ids)  # the frozen layers below the adapters run once, not every epoch
    Y = torch.tensor([[lab in ns for lab in labels] for ns in narratives], dtype=torch.float32)
    promo = torch.tensor([s == "promotes" for s in stances], dtype=torch.float32)
    has = torch.tensor([bool(ns) for ns in narratives[:len(texts) - n_prior]] + [False] * n_prior)
    pos = Y.sum(0)
    pos_weight = ((len(texts) - pos) / pos.clamp(min=1)).clamp(max=10.0)
    adapters = [p for p in clf.encoder_.parameters() if p.requires_grad]
    heads = [*clf.head_.parameters(), *clf.stance_head_.parameters()]
    opt = torch.optim.AdamW([{"params": heads, "lr": clf.head_lr}, {"params": adapters, "lr": clf.lr}],
                            weight_decay=clf.weight_decay)
    rng = np.random.default_rng(clf.seed)
    n_batches = len(batches(clf, lengths, np.random.default_rng(0)))
    total = max(1, clf.epochs * n_batches)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, 0.1 * total)) * max(0.0, (total - s) / total))
    for epoch in range(clf.epochs):
        clf.encoder_.train()
        running = 0.0
        for idx in batches(clf, lengths, rng):
            ix = torch.as_tensor(idx)
            e = upper_pool(clf, [lower[int(i)] for i in idx])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(clf.head_(e), Y[ix], pos_weight=pos_weight)
            h = has[ix]
            if h.any():
                loss = loss + torch.nn.functional.binary_cross_entropy_with_logits(
                    clf.stance_head_(e[h]).squeeze(-1), promo[ix][h])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            running += loss.item()
        print(f"epoch {epoch + 1}/{clf.epochs}: loss {running / max(1, n_batches):.4f}", file=log, flush=True)
