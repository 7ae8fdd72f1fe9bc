"""The transformer narrative model: a pretrained sentence encoder with LoRA adapters (or frozen), a
multi-label narrative head and a stance head, calibrated by temperature scaling on the dev split.

The saved directory holds only what was learned (adapters, heads, thresholds, temperatures, about
1 MB); the encoder itself is loaded from its package and verified by hash. Training is seeded
(``transformers.set_seed``) and reproducible on the same machine and library versions.

>>> clf = TransformerNarrativeClassifier(labels=["a", "b"], mode="frozen", epochs=1)   # doctest: +SKIP
>>> clf.fit(texts, narratives, stances, dev=(dev_texts, dev_narratives, dev_stances))  # doctest: +SKIP
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .artifact import ModelLoadError
from .base import NarrativeModelBase, SavedModel
from .contract import Scores
from .encoder import DEFAULT_ENCODER, check_encoder, encoder_path, encoder_ref
from .heads import TemperatureScaled, fit_temperature, head_tensors, label_set, read_heads  # noqa: F401  (fit_temperature: re-exported for callers)
from .kinds import register_kind

KIND = "transformer"
EMBED_ROWS = 64  # passages per inference batch
EMBED_TOKENS = 8192  # padded tokens per inference batch (64 rows of 128; at 256 tokens, 32 rows)
LORA_TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                "intermediate.dense", "output.dense")


def _versions() -> dict[str, str]:
    import peft
    import tokenizers
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "peft": peft.__version__, "numpy": np.__version__}


@register_kind(KIND, aliases=("transformer",), needs_dev=True, tuned_on="dev",
               options={"encoder": "encoder", "mode": "mode", "epochs": "epochs", "seed": "seed"})
class TransformerNarrativeClassifier(TemperatureScaled, NarrativeModelBase):
    """Encoder + narrative head + stance head, with the same ``score``/``predict`` interface as the
    TF-IDF baseline. ``mode`` is ``"lora"`` (adapters trained with the heads) or ``"frozen"`` (heads only)."""

    lora_layers_: list[str]  # the adapted linear layers' names (empty when frozen)

    def __init__(self, labels: Sequence[str] | None = None, encoder: str = DEFAULT_ENCODER, mode: str = "lora",
                 lora_r: int = 8, lora_alpha: float = 16.0, epochs: int = 6, lr: float = 2e-3, head_lr: float = 5e-3,
                 batch_size: int = 16, max_length: int = 256, weight_decay: float = 0.01, seed: int = 0,
                 threads: int | None = None):
        self.labels = labels
        self.encoder = encoder
        self.mode = mode
        self.lora_r = lora_r
        self.lora_alpha = lora_alpha
        self.epochs = epochs
        self.lr = lr
        self.head_lr = head_lr
        self.batch_size = batch_size
        self.max_length = max_length
        self.weight_decay = weight_decay
        self.seed = seed
        self.threads = threads

    # ---- building ---------------------------------------------------------------------------------
    def _build(self, path: Path, n_labels: int, adapters: dict | None = None) -> None:
        """Tokenizer, encoder and fresh heads. Training (``adapters`` None): fresh peft adapters in ``lora``
        mode, a frozen encoder in ``frozen`` mode. Loading: the saved ``adapters`` (by their pre-peft names)
        merged into the encoder's weights."""
        import torch
        from transformers import AutoModel, AutoTokenizer

        from .lora import add_adapters, from_legacy, linear_names, merge_adapters
        from .progress import quiet_libraries

        if self.threads:
            torch.set_num_threads(self.threads)
        if self.mode not in ("lora", "frozen"):
            raise ValueError(f"mode must be 'lora' or 'frozen', got {self.mode!r}")
        quiet_libraries()
        self.tokenizer_ = AutoTokenizer.from_pretrained(str(path))
        encoder = AutoModel.from_pretrained(str(path))
        for p in encoder.parameters():
            p.requires_grad_(False)
        hidden = encoder.config.hidden_size
        if adapters is not None:  # a saved model: merge its adapters (none for a frozen one)
            if self.lora_layers_:
                encoder = merge_adapters(encoder, self.lora_layers_, self.lora_r, self.lora_alpha,
                                         {from_legacy(k): v for k, v in adapters.items()}, self.path_)
            elif adapters:
                raise ModelLoadError(f"{self.path_}: adapter tensors in a model without LoRA layers")
        elif self.mode == "lora":
            self.lora_layers_ = linear_names(encoder, LORA_TARGETS)
            encoder = add_adapters(encoder, self.lora_layers_, self.lora_r, self.lora_alpha)
        else:
            self.lora_layers_ = []
        self.encoder_ = encoder
        self.head_ = torch.nn.Linear(hidden, n_labels)
        self.stance_head_ = torch.nn.Linear(hidden, 1)

    def _pool(self, batch, grad: bool = False):
        """Mean of the token embeddings under the attention mask (the encoder's own sentence pooling)."""
        import torch

        with torch.set_grad_enabled(grad):
            hidden = self.encoder_(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def _encode(self, texts: Sequence[str], grad: bool = False):
        batch = self.tokenizer_(list(texts), padding=True, truncation=True, max_length=self.max_length,
                                return_tensors="pt")
        return self._pool(batch, grad)

    # ---- training ---------------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], narratives: Sequence[Sequence[str]], stances: Sequence[str],
            groups: Sequence[str] | None = None, *,
            dev: tuple[Sequence[str], Sequence[Sequence[str]], Sequence[str]] | None = None,
            log=sys.stderr, **_unused) -> TransformerNarrativeClassifier:
        """Train adapters and heads on ``texts``; calibrate temperatures and tune thresholds on ``dev``
        (``groups`` is accepted for a uniform signature and not used)."""
        import torch
        from transformers import set_seed

        from .finetune import targets, train_heads

        texts = list(texts)
        labels = label_set(self.labels, narratives)
        if not texts:
            raise ValueError("cannot fit on zero passages")
        set_seed(self.seed)  # before the heads are built, or runs differ
        self.labels_ = labels
        self.encoder_ref_ = encoder_ref(self.encoder)
        self._build(encoder_path(self.encoder), len(labels))
        Y, promo, has = targets(labels, narratives, stances)
        if self.mode == "frozen":  # embed once
            self.encoder_.eval()
            cache = self._embed(texts)
            lengths = np.array([len(t) for t in texts])

            def embed(idx):
                return cache[torch.as_tensor(idx)]
        else:  # tokenize once, pad per batch
            from datasets import Dataset
            from datasets.utils.logging import disable_progress_bar

            disable_progress_bar()
            tokens = Dataset.from_dict({"text": texts}).map(
                lambda b: self.tokenizer_(b["text"], truncation=True, max_length=self.max_length),
                batched=True, remove_columns=["text"])
            lengths = np.array([len(ids) for ids in tokens["input_ids"]])

            def embed(idx):
                return self._pool(self.tokenizer_.pad(tokens[[int(i) for i in idx]], return_tensors="pt"), grad=True)
        train_heads(self, lengths, Y, promo, has, embed, log, "training the transformer")
        self._calibrate(dev)
        return self

    def _embed(self, texts: Sequence[str]):
        """Mean-pooled embeddings, in batches of at most :data:`EMBED_ROWS` passages (sorted by length) and
        :data:`EMBED_TOKENS` padded tokens: what a batch holds grows with its tokens, so long passages come
        in fewer rows (the same batches as 64 rows when passages are under 128 tokens)."""
        import torch

        from .batching import token_batches

        texts = list(texts)
        out = torch.zeros(len(texts), self.head_.in_features)
        if not texts:
            return out
        tokens = self.tokenizer_(texts, truncation=True, max_length=self.max_length)
        lengths = [len(ids) for ids in tokens["input_ids"]]
        order = np.argsort([len(t) for t in texts], kind="stable")
        with torch.inference_mode():
            for idx in token_batches(lengths, EMBED_TOKENS, cost="padded", max_rows=EMBED_ROWS, order=order):
                batch = self.tokenizer_.pad({k: [v[j] for j in idx] for k, v in tokens.items()}, return_tensors="pt")
                out[torch.as_tensor(idx)] = self._pool(batch)
        return out

    def _logits(self, texts: Sequence[str], langs: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        import torch

        e = self._embed(texts)
        with torch.inference_mode():
            return self.head_(e).numpy().astype(np.float64), self.stance_head_(e).squeeze(-1).numpy().astype(np.float64)

    # ---- inference --------------------------------------------------------------------------------
    def score(self, passages: Sequence[str], langs: Sequence[str] | None = None) -> Scores:
        """Calibrated narrative probabilities and the probability that each passage *promotes*; ``langs`` unused."""
        return self._calibrated(*self._logits(passages))

    # ---- persistence ------------------------------------------------------------------------------
    def _versions(self) -> dict[str, str]:
        return _versions()

    def _kind_config(self) -> dict:
        return {
            **self._temperature_config(),
            "encoder": self.encoder_ref_, "pooling": "mean", "lora_layers": list(self.lora_layers_),
            "params": {"mode": self.mode, "lora_r": self.lora_r, "lora_alpha": self.lora_alpha, "epochs": self.epochs,
                       "lr": self.lr, "head_lr": self.head_lr, "batch_size": self.batch_size,
                       "max_length": self.max_length, "weight_decay": self.weight_decay, "seed": self.seed},
        }

    def _weights(self):
        from .lora import adapter_state, to_legacy

        # the pre-peft tensor names, so a model saved now has the same layout as the shipped minilm-lora
        tensors = {f"encoder.{to_legacy(k)}": v.numpy()
                   for k, v in adapter_state(self.encoder_).items()} if self.lora_layers_ else {}
        tensors.update(head_tensors(*(p.detach().numpy() for p in (self.head_.weight, self.head_.bias,
                                                                  self.stance_head_.weight, self.stance_head_.bias))))
        return tensors, {}

    @classmethod
    def describe(cls, config: dict) -> list[str]:
        enc, p = config["encoder"], config.get("params", {})
        return [f"- encoder: `{enc.get('package') or enc['spec']}` {enc.get('version') or ''} "
                f"(files sha256 `{enc['sha256'][:16]}…`), mean pooling, {p.get('mode')} "
                f"(r={p.get('lora_r')}, alpha={p.get('lora_alpha')}), {p.get('epochs')} epochs, seed {p.get('seed')}"]

    @classmethod
    def _from_saved(cls, saved: SavedModel, **_unused) -> TransformerNarrativeClassifier:
        """Verify the encoder, then rebuild the model (no pickle anywhere)."""
        import torch

        path, cfg = saved.path, saved.config
        enc_path = check_encoder(cfg["encoder"])
        self = cls(labels=cfg["labels"], encoder=cfg["encoder"]["spec"], **cfg["params"])
        self.labels_ = list(cfg["labels"])
        self.encoder_ref_ = cfg["encoder"]
        self.lora_layers_ = list(cfg.get("lora_layers", []))
        self.path_ = str(path)
        t = saved.tensors()
        try:
            self._build(enc_path, len(self.labels_), {k[len("encoder."):]: v for k, v in t.items()
                                                      if k.startswith("encoder.")})
            W, b, sw, sb = read_heads(t, len(self.labels_), str(path))
            self.head_.load_state_dict({"weight": torch.from_numpy(W).float(), "bias": torch.from_numpy(b).float()})
            self.stance_head_.load_state_dict({"weight": torch.from_numpy(sw).float().reshape(1, -1),
                                               "bias": torch.tensor([sb], dtype=torch.float32)})
        except (KeyError, RuntimeError) as exc:
            raise ModelLoadError(f"{path}: weights do not fit the model ({exc})") from None
        for p in [*self.head_.parameters(), *self.stance_head_.parameters()]:
            p.requires_grad_(False)
        self.encoder_.eval()
        self.thresholds_ = {k: float(v) for k, v in cfg["thresholds"].items()}
        self._load_temperatures(cfg)
        return self
