"""`narratives train` fits the article decider itself: by default for models built like a shipped one that carries
one, on request for the others, never with `--no-decider`; before anything is written; on the team articles and,
when the cache holds them all, the real pages' dev half (saying which). Tiny team articles from
tests/fixtures/team_articles, the TF-IDF baseline, synthetic real pages (tests/train/conftest.py)."""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from narratives.serve.cli import main
from narratives.train import train
from narratives.train.deciderplan import SHIPPED, DeciderOptions, DeciderRequest, resolve_options

ROOT = Path(__file__).resolve().parents[2]
ARTICLES = ROOT / "tests" / "fixtures" / "team_articles" / "articles.jsonl"
N_ARTICLES = 10
TEAM = DeciderOptions(articles=ARTICLES, real_dev=False)


def _config(path) -> dict:
    return json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))


def _train(labels_dir, corpus_dir, out, **kw):
    log = io.StringIO()
    result = train(labels=labels_dir, corpus=corpus_dir, out=out, cv_folds=3, log=log, **kw)
    return result, log.getvalue()


def _cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("signature", sorted(SHIPPED))
def test_the_defaults_are_the_shipped_models_settings(signature):
    """Each default is the decider that ships in that model (config.json), and its signature is how it is built."""
    name, options = SHIPPED[signature]
    config = _config(ROOT / "model" / "weights" / name)
    members = config.get("members") or [*config.get("routes", {}).values(), config.get("fallback")]
    assert (config["kind"], tuple(sorted({m["kind"] for m in members}))) == signature
    d = config["article_decider"]
    assert (d["C"], d["presence"]["cutoff"]) == (options.C, options.cutoff)
    assert ("offsets" in d["presence"], d["stance"] is not None) == (options.per_narrative, options.stance)
    source = "article_text" if options.stance_source == "auto" else options.stance_source  # shipped with the pool
    assert (d["stance"] or {}).get("source", "passages") == source
    assert (d["stance"] or {}).get("cutoffs", {}) == options.stance_cutoffs  # read at the same per-language lines
    assert d["presence"].get("cutoffs", {}) == options.presence_cutoffs  # and the same per-narrative cutoffs
    if source == "article_text":  # its own files, hashed with the weights
        assert {"article_stance.json", "article_stance.safetensors"} <= set(json.loads(
            (ROOT / "model" / "weights" / name / "manifest.json").read_text())["files"])
    assert d["fitted_on"]["split"] == ",".join(sorted(options.team_splits))
    assert (d.get("evidence") or {}).get("model") == options.evidence  # the scorer it reads, pinned by hash
    if options.evidence:
        pinned = json.loads((ROOT / "model" / "weights" / options.evidence / "manifest.json").read_text())["model_hash"]
        assert d["evidence"]["model_hash"] == pinned
    assert d["fitted_on"]["real_dev_pages"] > 0 and options.real_dev in (None, True)  # fitted with the dev half
    assert ("page" in d) == (options.page_model is not False)  # shipped with the pool in the cache
    if "page" in d:
        assert d["page"]["C"] == options.page_C and d["page"]["fitted_on"]["split"] == "real-train"
        assert ("lexicon" in d["page"]) == options.page_lexicon  # and its files, hashed with the weights
        assert options.page_lexicon <= ({"page_lexicon.json", "page_lexicon.safetensors"} <= set(json.loads(
            (ROOT / "model" / "weights" / name / "manifest.json").read_text())["files"]))


def test_only_models_built_like_a_shipped_decider_get_one_by_default():
    assert resolve_options("auto", ("tfidf-logreg", ())) is None
    assert resolve_options("auto", ("routed", ("tfidf-logreg", "transformer"))) is None  # `routed` ships none
    assert resolve_options("auto", ("ensemble", ("e5-lora", "tfidf-logreg"))).cutoff == 0.6  # e5-lean
    assert resolve_options(DeciderRequest(fit=True), ("tfidf-logreg", ())) == DeciderOptions()
    assert resolve_options(DeciderRequest(fit=False), ("ensemble", ("e5-lora", "tfidf-logreg"))) is None
    over = resolve_options(DeciderRequest(settings={"C": 2.0}), ("ensemble", ("e5-lora", "tfidf-logreg")))
    assert (over.C, over.cutoff) == (2.0, 0.6)  # the shipped model's settings, with the one given
    with pytest.raises(ValueError, match="no default article decider; add --decider"):
        resolve_options(DeciderRequest(settings={"C": 2.0}), ("tfidf-logreg", ()))


@pytest.mark.parametrize("settings, refusal", [({"real_pool": True}, "in the fit twice"),
                                               ({"page_model": True, "page_narratives": True}, "per-narrative")])
def test_pool_stacking_is_refused_beside_settings_it_cannot_serve(settings, refusal):
    with pytest.raises(ValueError, match=refusal):
        DeciderOptions(pool_stack=True, **settings)
    assert not DeciderOptions(**settings).pool_stack  # each alone is fine


def test_train_fits_the_decider_and_the_config_card_and_recipe_say_on_what(labels_dir, corpus_dir, tmp_path):
    from narratives.model import load_model
    from narratives.serve.articles import article_decider

    out = tmp_path / "m"
    result, log = _train(labels_dir, corpus_dir, out, decider=TEAM.model_copy(update={"C": 3.0, "cutoff": 0.4}))
    d = _config(out)["article_decider"]
    assert (d["C"], d["presence"]["cutoff"]) == (3.0, 0.4) and d["stance"] is not None
    assert set(d["presence"]["offsets"]) == {"genocide_denial", "kosovo_precedent", "anti_western"}
    fit = d["fitted_on"]
    assert fit["n_articles"] == N_ARTICLES and fit["split"] == "dev,train" and "real_dev_pages" not in fit
    assert fit["presence_rows"] == N_ARTICLES * 3 and fit["real_dev_skipped"] == "not asked (--no-real-dev)"
    assert f"article decider: fitting on {N_ARTICLES} team articles" in log and "not used: not asked" in log
    card = (out / "README.md").read_text(encoding="utf-8")
    assert card.count("## Article decider") == 1 and f"fitted on {N_ARTICLES} team-written articles" in card
    assert "C 3.0; cutoff 0.4" in card and "dev half was not used (not asked" in card
    recipe = json.loads((out / "recipe.json").read_text(encoding="utf-8"))
    assert recipe["decider"]["C"] == 3.0 and recipe["decider"]["articles"] == str(ARTICLES)
    clf = load_model(str(out))
    assert clf.model_hash_ == result["model_hash"] and article_decider(clf) == d  # what `score` decides with


def test_a_kind_without_a_default_gets_none_unless_asked(labels_dir, corpus_dir, tmp_path, tiny_model):
    assert "article_decider" not in _config(tiny_model)  # `train()` of a baseline, as every other test makes it
    base = ["train", "--labels", labels_dir, "--corpus", corpus_dir, "--set", "cv_folds=3"]
    r = _cli(*base, "--out", tmp_path / "plain")
    assert r.exit_code == 0 and "article_decider" not in _config(tmp_path / "plain")
    assert "article decider" not in r.output
    r = _cli(*base, "--out", tmp_path / "asked", "--decider", "--articles", ARTICLES, "--no-real-dev")
    assert r.exit_code == 0, r.output
    d = _config(tmp_path / "asked")["article_decider"]
    assert (d["C"], d["presence"]["cutoff"], d["fitted_on"]["n_articles"]) == (10.0, 0.5, N_ARTICLES)
    r = _cli(*base, "--out", tmp_path / "unasked", "--decider-C", "3")
    assert r.exit_code == 1 and "no default article decider; add --decider" in r.output
    r = _cli(*base, "--out", tmp_path / "both", "--no-decider", "--decider-cutoff", "0.6")
    assert r.exit_code == 2 and "--no-decider takes no decider settings (got cutoff)" in r.output
    assert not (tmp_path / "unasked").exists() and not (tmp_path / "both").exists()


def test_a_kind_with_a_default_fits_it_unless_no_decider(labels_dir, corpus_dir, tmp_path, monkeypatch):
    """The default mechanism, with the baseline standing in for a shipped recipe (the ensemble trains for minutes)."""
    monkeypatch.setitem(SHIPPED, ("tfidf-logreg", ()), ("test", TEAM.model_copy(update={"C": 2.0, "cutoff": 0.6})))
    base = ["train", "--labels", labels_dir, "--corpus", corpus_dir, "--set", "cv_folds=3"]
    r = _cli(*base, "--out", tmp_path / "default")
    assert r.exit_code == 0, r.output
    d = _config(tmp_path / "default")["article_decider"]
    assert (d["C"], d["presence"]["cutoff"]) == (2.0, 0.6)
    r = _cli(*base, "--out", tmp_path / "none", "--no-decider")
    assert r.exit_code == 0 and "article_decider" not in _config(tmp_path / "none")
    r = _cli(*base, "--out", tmp_path / "tuned", "--decider-cutoff", "0.45")
    assert r.exit_code == 0 and _config(tmp_path / "tuned")["article_decider"]["presence"]["cutoff"] == 0.45


def test_a_failing_decider_fit_leaves_the_previous_model_byte_identical(labels_dir, corpus_dir, tmp_path, monkeypatch):
    out = tmp_path / "m"
    _train(labels_dir, corpus_dir, out, decider=TEAM)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(*args, **kwargs):
        raise RuntimeError("decider fit failed")

    monkeypatch.setattr("narratives.train.decider.fit_decider", boom)
    with pytest.raises(RuntimeError, match="decider fit failed"):
        _train(labels_dir, corpus_dir, out, decider=TEAM.model_copy(update={"C": 3.0}))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels", "m"]  # no temporary folder left behind


def test_bad_decider_articles_fail_before_any_fitting(labels_dir, corpus_dir, tmp_path):
    negatives = tmp_path / "negatives.jsonl"
    negatives.write_text("".join(line for line in ARTICLES.read_text(encoding="utf-8").splitlines(keepends=True)
                                 if '"labels": {}' in line), encoding="utf-8")
    log = io.StringIO()
    with pytest.raises(ValueError, match="needs articles that carry a narrative.*--no-decider"):
        train(labels=labels_dir, corpus=corpus_dir, out=tmp_path / "m", log=log,
              decider=DeciderOptions(articles=negatives, real_dev=False))
    assert "training a" not in log.getvalue() and not (tmp_path / "m").exists()
    r = _cli("train", "--labels", labels_dir, "--corpus", corpus_dir, "--out", tmp_path / "m", "--decider",
             "--articles", tmp_path / "missing.jsonl")
    assert r.exit_code == 2 and "missing.jsonl" in r.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    r = _cli("train", "--labels", labels_dir, "--corpus", corpus_dir, "--out", tmp_path / "m", "--decider",
             "--articles", bad, "--no-real-dev")
    assert r.exit_code == 1 and f"{bad}:1: missing field(s)" in r.output and not (tmp_path / "m").exists()


@pytest.fixture()
def real_dev(rp):
    """Dev and test pages (team-written texts), only the dev half cached."""
    texts = [({"kosovo_precedent": "promotes"}, "Commentary\n\nWhat was allowed for Pristina in 2008 must now be "
              "allowed for Crimea, and the West wrote that rule itself."),
             ({}, "Markets\n\nThe central bank kept its rates unchanged on Thursday, the governor said."),
             ({"anti_western": "reports"}, "Fact-check\n\nA channel claims the West stages colour revolutions in "
              "the region; the documents it shows were forged, researchers found.")]
    refs = []
    for i, (labels, text) in enumerate(texts):
        for split in ("dev", "test"):
            ref = rp.reference(rp.url_in(split, f"plan{i}"), text, labels)
            if split == "dev":
                rp.cache(ref, text)
            refs.append(ref)
    rp.write_refs(rp.real / "pages.jsonl", refs)
    return [r for r in refs if r["split"] == "dev"]


def test_the_real_dev_half_is_used_when_the_cache_holds_it_and_the_run_says_which(labels_dir, corpus_dir, tmp_path,
                                                                                 rp, real_dev):
    auto = DeciderOptions(articles=ARTICLES, real=rp.real)  # real_dev None: use it when complete
    _, log = _train(labels_dir, corpus_dir, tmp_path / "m", decider=auto)
    fit = _config(tmp_path / "m")["article_decider"]["fitted_on"]
    assert fit["real_dev_pages"] == len(real_dev) and fit["n_articles"] == N_ARTICLES  # the test half is not cached
    assert f"and the {len(real_dev)} real pages of the benchmark's dev half" in log
    assert "real pages of the benchmark's dev half" in (tmp_path / "m" / "README.md").read_text(encoding="utf-8")

    (rp.cache_dir / f"{real_dev[0]['id']}.txt").unlink()  # a partial cache: team articles only, and it says so
    _, log = _train(labels_dir, corpus_dir, tmp_path / "m2", decider=auto)
    fit = _config(tmp_path / "m2")["article_decider"]["fitted_on"]
    assert "real_dev_pages" not in fit and fit["real_dev_skipped"] == "the real-page cache lacks 1 page(s) of the dev half"
    assert "not used: the real-page cache lacks 1 page(s)" in log and "narratives real fill" in log

    from narratives.train.realcache import CacheError

    log = io.StringIO()
    with pytest.raises(CacheError, match=real_dev[0]["id"]):  # asked for: an error naming the page, before fitting
        train(labels=labels_dir, corpus=corpus_dir, out=tmp_path / "m3", log=log,
              decider=auto.model_copy(update={"real_dev": True}))
    assert "training a" not in log.getvalue() and not (tmp_path / "m3").exists()
    r = _cli("train", "--labels", labels_dir, "--corpus", corpus_dir, "--out", tmp_path / "m3", "--decider",
             "--articles", ARTICLES, "--real", rp.real, "--real-dev")
    assert r.exit_code == 1 and real_dev[0]["id"] in r.output and "partial cache" in r.output


def test_decider_fit_over_a_saved_model_gives_what_train_gives(labels_dir, corpus_dir, tmp_path, tiny_model):
    """One plan and one fit: `decider fit` on a plain model equals training with the decider (same weights)."""
    trained, _ = _train(labels_dir, corpus_dir, tmp_path / "trained", decider=TEAM)
    r = _cli("decider", "fit", tiny_model, "--out", tmp_path / "attached", "--articles", ARTICLES,
             "--team-split", "train", "--team-split", "dev", "--C", "10", "--cutoff", "0.5", "--no-real-dev")
    assert r.exit_code == 0, r.output
    a, b = _config(tmp_path / "trained")["article_decider"], _config(tmp_path / "attached")["article_decider"]
    assert b["fitted_on"].pop("base_model_hash") == json.loads((tiny_model / "manifest.json").read_text())["model_hash"]
    assert a == b


def test_decider_fit_with_no_settings_uses_trainings_defaults(labels_dir, corpus_dir, tmp_path, tiny_model):
    """`decider fit` used to default to C 1 on the train articles only, so a refit decider differed from the one
    `train --decider` fits; now every setting not given is training's (C 10, cutoff 0.5, train and dev)."""
    trained, _ = _train(labels_dir, corpus_dir, tmp_path / "trained", decider=TEAM)
    r = CliRunner().invoke(main, ["decider", "fit", str(tiny_model), "--out", str(tmp_path / "attached"),
                                  "--articles", str(ARTICLES), "--no-real-dev"])
    assert r.exit_code == 0, r.output
    assert "decider settings: C 10.0, cutoff 0.5, team splits train+dev, real dev False" in r.stderr
    a, b = _config(tmp_path / "trained")["article_decider"], _config(tmp_path / "attached")["article_decider"]
    b["fitted_on"].pop("base_model_hash")
    assert a == b and b["fitted_on"]["split"] == "dev,train" and b["C"] == 10.0


def _readme_lines() -> list[str]:
    """The README's two examples of what `narratives train --kind ensemble` says of its decider's data."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines()
             if line.strip().startswith(("article decider: fitting on", "article stance model: ",
                                         "article decider: reading", "page model: "))]
    return ["\n".join(lines[:4]), "\n".join(lines[4:8])]


def _plan_message() -> str:
    """What planning the default's decider (`narratives train --kind ensemble`) prints."""
    from narratives.model.taxonomy import load_taxonomy
    from narratives.train.deciderplan import plan_decider

    log = io.StringIO()
    options = SHIPPED[("ensemble", ("frozen-embedding", "tfidf-logreg", "transformer"))][1]
    plan_decider(options, tuple(load_taxonomy().ids), log=log)
    return log.getvalue().strip()


def test_the_readme_shows_what_train_says_without_the_cache(tmp_path, monkeypatch):
    """The repository's articles and references, an empty cache (as in CI): the README's second example."""
    monkeypatch.setenv("NARRATIVES_REAL_CACHE", str(tmp_path / "empty"))
    assert _plan_message() == _readme_lines()[1]


def test_the_readme_shows_what_train_says_with_the_cache(monkeypatch):
    """The README's first line, where the user's own cache holds the whole dev half (not in CI)."""
    from narratives.train.realcache import CacheError

    monkeypatch.delenv("NARRATIVES_REAL_CACHE")  # the user cache folder, not the tests' empty one
    from narratives.train.realpages import load_references

    try:
        from narratives.train.realcache import cached_texts

        cached_texts([r for r in load_references() if r.page.split == "dev"])
    except CacheError:
        pytest.skip("the real-page cache does not hold the dev half here")
    assert _plan_message() == _readme_lines()[0]


def test_a_narrative_no_article_carries_is_warned_about_and_ruled_out(labels_dir, corpus_dir, tmp_path):
    """What the README says of a narrative just added: the run warns, and it gets no offset of its own."""
    import re

    lines = ARTICLES.read_text(encoding="utf-8").splitlines(keepends=True)
    without = tmp_path / "without.jsonl"
    without.write_text("".join(line for line in lines if "anti_western" not in line), encoding="utf-8")
    _, log = _train(labels_dir, corpus_dir, tmp_path / "m", decider=DeciderOptions(articles=without, real_dev=False))
    assert re.search(r"warning: no article carries anti_western: .* --no-decider", log)
    assert "anti_western" not in _config(tmp_path / "m")["article_decider"]["presence"]["offsets"]
    assert "narrative that no article carries" in (ROOT / "README.md").read_text(encoding="utf-8").replace("\n  ", " ")


def test_ensemble_and_route_fit_one_by_their_members_kinds(tiny_model, labels_dir, corpus_dir, tmp_path, monkeypatch):
    """`narratives ensemble` / `route` decide by the members' kinds (here a baseline stands in for e5-lean's)."""
    import shutil

    shutil.copytree(tiny_model, tmp_path / "a")
    common = ["--labels", labels_dir, "--corpus", corpus_dir]
    r = _cli("ensemble", "--out", tmp_path / "ens", "--member", "a=1", *common)
    assert r.exit_code == 0, r.output
    assert "article_decider" not in _config(tmp_path / "ens")  # no shipped model is built of one baseline
    monkeypatch.setitem(SHIPPED, ("ensemble", ("tfidf-logreg",)), ("test", TEAM.model_copy(update={"cutoff": 0.6})))
    r = _cli("ensemble", "--out", tmp_path / "ens", "--member", "a=1", *common)
    assert r.exit_code == 0, r.output
    d = _config(tmp_path / "ens")["article_decider"]
    assert d["presence"]["cutoff"] == 0.6 and d["fitted_on"]["n_articles"] == N_ARTICLES
    r = _cli("ensemble", "--out", tmp_path / "ens", "--member", "a=1", "--no-decider", *common)
    assert r.exit_code == 0 and "article_decider" not in _config(tmp_path / "ens")
    r = _cli("route", "--out", tmp_path / "rt", "--lang", "en=a", "--fallback", "a", *common)
    assert r.exit_code == 0 and "article_decider" not in _config(tmp_path / "rt")
    r = _cli("route", "--out", tmp_path / "rt", "--lang", "en=a", "--fallback", "a", "--decider", "--articles",
             ARTICLES, "--no-real-dev", "--decider-cutoff", "0.45", *common)
    assert r.exit_code == 0, r.output
    assert _config(tmp_path / "rt")["article_decider"]["presence"]["cutoff"] == 0.45


def _stance_pool(rp) -> int:
    """Training-pool pages (team-written texts, cached) that carry a narrative: the article stance model's real
    pages. Returns how many promote one."""
    texts = [({"kosovo_precedent": "promotes"}, "Crimea Followed Kosovo\n\nWhat the West allowed for Pristina "
              "it must allow for Crimea; the precedent is theirs."),
             ({"anti_western": "promotes"}, "Brussels Wants Obedience\n\nThe West punishes every leader who "
              "refuses its orders, and Serbia will not kneel."),
             ({"kosovo_precedent": "reports"}, "Analysis\n\nMoscow again claims that Kosovo was a precedent "
              "for Crimea; lawyers say the cases differ."),
             ({"anti_western": "reports"}, "Fact-check\n\nA channel claims the West stages colour revolutions; "
              "the documents it shows were forged, researchers found.")]
    refs = []
    for i, (labels, text) in enumerate(texts):
        refs.append(rp.reference(f"https://example.org/pool/{i}", text, labels, split="train"))
        rp.cache(refs[-1], text)
    rp.write_refs(rp.real / "train_pool.jsonl", refs)
    return sum("promotes" in r["labels"].values() for r in refs)


def _fit_by_text(model, out, rp, source: str = "article_text"):
    """`narratives decider fit MODEL --stance-source SOURCE` on the fixture articles and rp's references; its stderr."""
    r = _cli("decider", "fit", model, "--out", out, "--articles", ARTICLES, "--no-real-dev", "--real", rp.real,
             "--stance-source", source)
    assert r.exit_code == 0, r.output
    return r.stderr


def test_an_article_text_stance_writes_its_files_decides_stance_and_is_refused_when_altered(tiny_model, tmp_path, rp):
    """`--stance-source article_text` fits the article stance model on the team articles and the training pool's
    pages that carry a narrative, writes its two files beside the weights (a new version), and `score` takes
    every narrative's stance from the article's text; refitting with the passages drops the files; an altered
    file is refused by name."""
    from narratives.model import ModelLoadError, load_model
    from narratives.model.artifact import verify_model_dir
    from narratives.model.kinds import load_model_dir
    from narratives.serve.articles import score_articles
    from narratives.serve.decider import article_promotes

    pool_promotes = _stance_pool(rp)
    text, plain = tmp_path / "text", tmp_path / "plain"
    assert ("article stance model: fitting on the 7 team articles that carry a narrative and the 4 pages of the "
            "real training pool that do (never the benchmark's dev half)") in _fit_by_text(tiny_model, text, rp)
    stance = _config(text)["article_decider"]["stance"]
    assert stance["source"] == "article_text" and "coef" not in stance
    assert (stance["n_articles"], stance["promotes"]) == (7 + 4, 4 + pool_promotes)
    assert _config(text)["article_decider"]["fitted_on"]["stance_pool_pages"] == 4
    files = set(json.loads((text / "manifest.json").read_text())["files"])
    assert {"article_stance.json", "article_stance.safetensors"} <= files
    _fit_by_text(text, plain, rp, "passages")
    assert not (plain / "article_stance.json").exists() and "coef" in _config(plain)["article_decider"]["stance"]

    clf = load_model(str(text))
    assert clf.model_hash_ != load_model(str(plain)).model_hash_
    assert clf.article_stance_ is not None  # read with the rest, right after the manifest was verified
    lazy = load_model_dir(shutil.copytree(text, tmp_path / "copy"))  # loaded without it: read at first use ...
    shutil.copy(plain / "manifest.json", tmp_path / "copy" / "manifest.json")  # ... from a directory since replaced
    with pytest.raises(ModelLoadError, match="now holds version .* not the loaded"):
        article_promotes(lazy, ["text"])
    item = {"id": "a", "text": "Kosovo was the precedent for Crimea, the West made it so and lies about it.\n\n"
                               "The West humiliates Serbia; Kosovo is Serbia and the precedent stands."}
    rec = next(score_articles([item], model=clf))
    (p,) = article_promotes(clf, [item["text"]])
    assert rec["narratives"] and set(rec["stances"].values()) == {"promotes" if p >= 0.5 else "reports"}

    (text / "article_stance.safetensors").write_bytes(b"altered")
    with pytest.raises(ModelLoadError, match="article_stance.safetensors"):
        verify_model_dir(text)
    clf.article_stance_ = None  # a loaded model reads the files again only through the manifest's sums
    with pytest.raises(ModelLoadError, match="article_stance.safetensors was altered"):
        article_promotes(clf, [item["text"]])


def test_pool_stacking_refuses_an_evidence_model_it_cannot_refit_before_any_scoring(tiny_model, tmp_path, rp):
    _stance_pool(rp)
    out = tmp_path / "m"
    r = _cli("decider", "fit", tiny_model, "--out", out, "--articles", ARTICLES, "--no-real-dev", "--real", rp.real,
             "--pool-stack")
    assert r.exit_code == 1 and "a frozen-embedding model can" in r.output and not out.exists()


def test_an_auto_stance_without_the_training_pool_falls_back_to_the_passages_and_says_why(tiny_model, tmp_path, rp):
    """Team articles alone made a worse text model than the passages on the dev half, so without the pool in the
    cache `auto` (the default's setting) reads the passages, and the run and the recorded settings say so; asked
    for explicitly, `article_text` refuses to run and names the missing page."""
    out = tmp_path / "m"
    ref = rp.reference("https://example.org/pool/0", "Uncached page.", {"anti_western": "promotes"}, split="train")
    rp.write_refs(rp.real / "train_pool.jsonl", [ref])
    r = _cli("decider", "fit", tiny_model, "--out", out, "--articles", ARTICLES, "--no-real-dev", "--real", rp.real,
             "--stance-source", "article_text")
    assert r.exit_code == 1 and ref["id"] in r.output and not out.exists()
    assert ("article stance model: not fitted, the training pool not used (the real-page cache lacks 1 page(s) of "
            "the training pool): the stance part reads the passages instead") in _fit_by_text(tiny_model, out, rp,
                                                                                               "auto")
    stance = _config(out)["article_decider"]["stance"]
    assert stance.get("source", "passages") == "passages" and "coef" in stance
    assert not (out / "article_stance.json").exists()


def test_an_evidence_model_is_read_pinned_and_checked_before_any_fitting(tiny_model, labels_dir, corpus_dir, tmp_path):
    """`decider fit MODEL --evidence OTHER` fits on OTHER's passage scores and thresholds and pins OTHER's hash;
    `score` then decides from OTHER's scores while the records keep MODEL's; OTHER scoring other narratives is
    refused before any fitting when asked for, and gives way to the model's own scores when only the shipped
    settings named it."""
    from narratives.model import load_model
    from narratives.serve.articles import score_articles
    from narratives.train.deciderplan import plan_decider

    other, _ = _train(labels_dir, corpus_dir, tmp_path / "other", decider=None, C=0.05)  # another scorer, same labels
    r = _cli("decider", "fit", tiny_model, "--out", tmp_path / "ev", "--articles", ARTICLES, "--no-real-dev",
             "--evidence", tmp_path / "other")
    assert r.exit_code == 0, r.output
    assert f"reading the passage scores of {tmp_path / 'other'}" in r.stderr
    d = _config(tmp_path / "ev")["article_decider"]
    assert d["evidence"] == {"model": str(tmp_path / "other"), "model_hash": other["model_hash"]}
    r = _cli("decider", "fit", tmp_path / "other", "--out", tmp_path / "own", "--articles", ARTICLES, "--no-real-dev")
    own = _config(tmp_path / "own")["article_decider"]
    assert (d["presence"], d["stance"]) == (own["presence"], own["stance"])  # fitted on exactly OTHER's scores
    item = {"id": "a", "text": "Kosovo set the precedent for Crimea, and the West knows it.\n\nRain in Sarajevo."}
    ev, by_other = (list(score_articles([item], model=m))[0] for m in (tmp_path / "ev", tmp_path / "own"))
    plain = list(score_articles([item], model=tiny_model))[0]
    assert (ev["narratives"], ev["stances"]) == (by_other["narratives"], by_other["stances"])
    assert ev["scores"] == plain["scores"]  # the record's scores are the model's own
    assert load_model(tmp_path / "ev").evidence_model_.model_hash_ == other["model_hash"]

    strict = DeciderOptions(evidence="baseline", team_splits=("train", "dev"), real_dev=False, articles=ARTICLES)
    with pytest.raises(ValueError, match="--evidence baseline: it scores genocide_denial"):
        plan_decider(strict, tuple(load_model(tiny_model).labels_), log=io.StringIO())
    log = io.StringIO()
    plan = plan_decider(strict.model_copy(update={"evidence_optional": True}), tuple(load_model(tiny_model).labels_),
                        log=log)
    assert plan.options.evidence is None and "reading the model's own passage scores, not baseline's" in log.getvalue()
    log = io.StringIO()  # the shipped page model (auto) reads the evidence model's embeddings: it goes with it
    plan = plan_decider(strict.model_copy(update={"evidence_optional": True, "page_model": None}),
                        tuple(load_model(tiny_model).labels_), log=log)
    assert plan.options.page_model is False and "page model: not fitted (it reads the embeddings of the evidence " \
        "model, which gave way)" in log.getvalue()


def test_decider_evidence_own_overrides_the_shipped_evidence_and_a_name_is_strict():
    """`train`/`ensemble`/`route --decider-evidence own` gives the model's own scores where the shipped settings name
    e5-real (how `ensemble` itself is rebuilt); a named model is required, not optional."""
    from narratives.serve.cli_train import decider_request

    signature = ("ensemble", ("frozen-embedding", "tfidf-logreg", "transformer"))
    assert resolve_options("auto", signature).evidence == "e5-real"
    own = resolve_options(decider_request(None, None, None, None, None, None, decider_evidence="own"), signature)
    assert own.evidence is None and own.C == 10.0
    named = resolve_options(decider_request(None, None, None, None, None, None, decider_evidence="v1"), signature)
    assert (named.evidence, named.evidence_optional) == ("v1", False)
