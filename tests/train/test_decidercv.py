"""Choosing the article decider on the real pages' dev half: out-of-fold figures that agree with `narratives real
evaluate`, the test half never read, and `decider fit --real-dev` recording what it was fitted on."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from narratives.serve.cli import main
from narratives.train.decidercv import cross_validate, objective, real_dev_articles

TEXTS = [  # team-written page texts: (lang, labels, text)
    ("en", {"kosovo_precedent": "promotes"},
     "Commentary\n\nWhat was allowed for Pristina in 2008 must now be allowed for Crimea and Donetsk. The West "
     "wrote that rulebook itself and cannot complain when others read from it."),
    ("en", {"genocide_denial": "reports"},
     "Fact-check\n\nA viral post claims that the numbers from July 1995 were inflated. The court records and the "
     "identified remains show the claim is false, and the post misquotes the tribunal."),
    ("en", {}, "Energy news\n\nThe government signed an extension of the gas supply contract for the winter "
               "months. Prices will be reviewed in spring, the ministry said."),
    ("sr-Latn", {"anti_western": "promotes"},
     "Komentar\n\nZapad organizuje obojene revolucije na Balkanu, a sankcije su samo oruzje protiv naroda koji "
     "nece da se pokori Briselu i Vasingtonu."),
    ("en", {}, "Sport\n\nThe home side won the derby two to one after a late goal in front of a full stadium."),
    ("en", {"anti_western": "promotes"},
     "Opinion\n\nWashington and Brussels lecture the Serbs about democracy while they bomb, sanction and humiliate "
     "every nation that refuses to kneel. Their values are a mask for plunder."),
    ("en", {}, "Weather\n\nRain is expected across the region on Thursday, with snow above a thousand metres."),
    ("en", {"kosovo_precedent": "reports"},
     "Analysis\n\nMoscow keeps citing Kosovo's independence as a precedent for the annexation of Crimea; legal "
     "scholars note the court's opinion said nothing of the kind."),
]


@pytest.fixture()
def dev_and_test(rp):
    refs = []
    for i, (lang, labels, text) in enumerate(TEXTS):
        for split in ("dev", "test"):
            ref = rp.reference(rp.url_in(split, f"cv{i}"), text, labels, lang=lang)
            rp.cache(ref, text)
            refs.append(ref)
    rp.write_refs(rp.real / "pages.jsonl", refs)
    return refs


@pytest.fixture()
def team_file(tmp_path):
    rows = [{"id": f"T-{i}", "text": text, "lang": lang, "labels": labels, "source": "s1", "split": "train"}
            for i, (lang, labels, text) in enumerate(TEXTS)]
    f = tmp_path / "team.jsonl"
    f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return f


def test_cv_reads_only_the_dev_half_and_its_none_row_is_real_evaluate(rp, dev_and_test, team_file, tiny_model,
                                                                      tmp_path):
    from narratives.model import load_model
    from narratives.train.teamarticles import load_articles

    for ref in dev_and_test:  # the test half's texts are gone: choosing must not need them
        if ref["split"] == "test":
            (rp.cache_dir / f"{ref['id']}.txt").unlink()
    real, digest = real_dev_articles(rp.real)
    assert len(digest) == 64
    assert len(real) == len(TEXTS) and {a.split for a in real} == {"real-dev"}
    clf = load_model(str(tiny_model))
    team = load_articles(team_file, tuple(clf.labels_))
    rows = cross_validate(clf, team, real, Cs=(1.0,), cutoffs=(0.3, 0.6), folds=2)
    assert [r["objective"] for r in rows] == sorted((r["objective"] for r in rows), reverse=True)
    assert sum(r["decider"] == "none" for r in rows) == 1 and len(rows) == 3
    assert all(r["objective"] == objective(r) for r in rows)

    # several fold seeds: each figure is the mean of the same setting's figures under each seed alone
    def by_setting(rs):
        return {(r["decider"], r.get("cutoff")): r for r in rs}

    one = [by_setting(cross_validate(clf, team, real, Cs=(1.0,), cutoffs=(0.3, 0.6), folds=2, seeds=(s,)))
           for s in (0, 1)]
    both = by_setting(cross_validate(clf, team, real, Cs=(1.0,), cutoffs=(0.3, 0.6), folds=2, seeds=(0, 1)))
    assert one[0] == by_setting(rows)  # seed 0 is the default
    for key, row in both.items():
        assert row["objective"] == objective(row)
        for fig in ("macro_f1", "negatives_flagged", "stance_accuracy"):
            assert row[fig] == pytest.approx((one[0][key][fig] + one[1][key][fig]) / 2, abs=1e-4)

    out = tmp_path / "dev.json"
    r = CliRunner().invoke(main, ["real", "evaluate", str(tiny_model), "--real", str(rp.real), "--split", "dev",
                                  "--json", str(out), "--no-errors"])
    assert r.exit_code == 0, r.output
    ev = json.loads(out.read_text(encoding="utf-8"))["models"][str(tiny_model)]
    none = next(r for r in rows if r["decider"] == "none")  # the passage rule, scored as `narratives score` does
    assert (none["macro_f1"], none["negatives_flagged"], none["stance_accuracy"]) == (
        ev["macro_f1"], ev["negatives_flagged"], ev["stance_accuracy"])


def test_fit_with_real_dev_records_its_data_and_cv_prints_the_table(rp, dev_and_test, team_file, tiny_model,
                                                                     tmp_path):
    out = tmp_path / "with-decider"
    r = CliRunner().invoke(main, ["decider", "fit", str(tiny_model), "--out", str(out), "--articles", str(team_file),
                                  "--real-dev", "--real", str(rp.real), "--cutoff", "0.4", "--no-stance"])
    assert r.exit_code == 0, r.output
    fitted = json.loads((out / "config.json").read_text(encoding="utf-8"))["article_decider"]["fitted_on"]
    n_dev = sum(ref["split"] == "dev" for ref in dev_and_test)
    assert fitted["real_dev_pages"] == n_dev and fitted["n_articles"] == len(TEXTS)
    assert fitted["presence_rows"] == (len(TEXTS) + n_dev) * 3  # three narratives in the tiny taxonomy

    r = CliRunner().invoke(main, ["decider", "cv", str(tiny_model), "--articles", str(team_file), "--real",
                                  str(rp.real), "--C", "1", "--cutoff", "0.5", "--folds", "2"])
    assert r.exit_code == 0, r.output
    assert f"{n_dev} dev pages, {len(TEXTS)} team articles, 0 pool pages, 2 folds" in r.output and "objective" in r.output
    r = CliRunner().invoke(main, ["decider", "cv", str(tiny_model), "--articles", str(team_file), "--real",
                                  str(rp.real), "--C", "1", "--cutoff", "0.5", "--folds", "2", "--fold-seeds", "3"])
    assert r.exit_code == 0, r.output
    assert "2 folds, means over 3 fold seeds" in r.output

    gone = next(ref for ref in dev_and_test if ref["split"] == "dev")
    (rp.cache_dir / f"{gone['id']}.txt").unlink()  # a dev page missing from the cache: refused, with its id
    r = CliRunner().invoke(main, ["decider", "cv", str(tiny_model), "--articles", str(team_file), "--real",
                                  str(rp.real)])
    assert r.exit_code == 1 and gone["id"] in r.output


def test_fit_takes_the_training_pool_and_cv_keeps_it_in_every_fold(rp, dev_and_test, team_file, tiny_model, tmp_path):
    from narratives.train.decidercv import real_articles

    pool = []
    for i, (lang, labels, text) in enumerate(TEXTS[:4]):
        ref = rp.reference(rp.url_in("test", f"pool{i}"), text, labels, lang=lang, split="train")
        rp.cache(ref, text)
        pool.append(ref)
    rp.write_refs(rp.real / "train_team.jsonl", pool)
    found, digest = real_articles(rp.real, "train")
    assert [a.id for a in found] == [r["id"] for r in pool] and {a.split for a in found} == {"real-train"}
    with pytest.raises(ValueError, match="never fitted on the 'test' pages"):
        real_articles(rp.real, "test")

    out = tmp_path / "with-pool"
    r = CliRunner().invoke(main, ["decider", "fit", str(tiny_model), "--out", str(tmp_path / "no-pool"), "--articles",
                                  str(team_file), "--real", str(rp.real), "--no-stance"])  # the pool is opt-in
    assert r.exit_code == 0 and "training pool not used: not asked (--real-pool adds it)" in r.output
    r = CliRunner().invoke(main, ["decider", "fit", str(tiny_model), "--out", str(out), "--articles", str(team_file),
                                  "--real", str(rp.real), "--no-stance", "--real-pool"])
    assert r.exit_code == 0, r.output
    fitted = json.loads((out / "config.json").read_text(encoding="utf-8"))["article_decider"]["fitted_on"]
    n_dev = sum(ref["split"] == "dev" for ref in dev_and_test)
    assert fitted["real_pool_pages"] == len(pool) and fitted["real_pool_references_sha256"] == digest
    assert fitted["presence_rows"] == (len(TEXTS) + n_dev + len(pool)) * 3

    r = CliRunner().invoke(main, ["decider", "cv", str(tiny_model), "--articles", str(team_file), "--real",
                                  str(rp.real), "--C", "1", "--cutoff", "0.5", "--folds", "2", "--real-pool"])
    assert r.exit_code == 0, r.output
    assert f"{n_dev} dev pages, {len(TEXTS)} team articles, {len(pool)} pool pages, 2 folds" in r.output

    (rp.cache_dir / f"{pool[0]['id']}.txt").unlink()  # a pool page missing: an error when asked for
    r = CliRunner().invoke(main, ["decider", "fit", str(tiny_model), "--out", str(tmp_path / "y"), "--articles",
                                  str(team_file), "--real", str(rp.real), "--real-pool", "--no-stance"])
    assert r.exit_code == 1 and pool[0]["id"] in r.output


def test_cv_with_the_page_model_fits_it_once_on_the_pool_and_marks_its_rows(rp, dev_and_test, team_file, tiny_model):
    """`page_models=(False, True)` adds one row per setting with the page feature; the page model is fitted on
    the pool pages given (never a dev page) over the model's embeddings (here a toy bag of words)."""
    import numpy as np

    from narratives.model import load_model
    from narratives.train.teamarticles import Article, load_articles

    words = ("west", "kosovo", "crimea", "court", "gas", "rain")

    def embed(texts, langs=None):
        x = np.array([[t.lower().count(w) for w in words] for t in texts], dtype=float) + 1e-3
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    clf = load_model(str(tiny_model))
    clf.embed = embed
    team = load_articles(team_file, tuple(clf.labels_))
    real, _ = real_dev_articles(rp.real)
    pool = [Article(f"p{i}", text, lang, labels, "s", "real-train", f"f:{i}")
            for i, (lang, labels, text) in enumerate(TEXTS * 2)]
    rows = cross_validate(clf, team, real, Cs=(1.0,), cutoffs=(0.5,), folds=2, page_models=(False, True),
                          page_pool=pool)
    fitted = [r for r in rows if r["decider"] == "fitted"]
    assert sorted(r["page_model"] for r in fitted) == [False, True]
    assert all(r["objective"] == objective(r) for r in rows)
    with pytest.raises(ValueError, match="with and without a narrative"):
        cross_validate(clf, team, real, Cs=(1.0,), cutoffs=(0.5,), folds=2, page_models=(True,),
                       page_pool=[a for a in pool if a.labels])


def test_cv_reads_each_stance_cutoff_on_the_same_fitted_deciders(rp, dev_and_test, team_file, tiny_model, tmp_path):
    from narratives.model import load_model
    from narratives.train.teamarticles import load_articles

    real, _ = real_dev_articles(rp.real)
    clf = load_model(str(tiny_model))
    team = load_articles(team_file, tuple(clf.labels_))
    plain = cross_validate(clf, team, real, Cs=(1.0,), cutoffs=(0.3,), folds=2, stances=(True, False))
    rows = cross_validate(clf, team, real, Cs=(1.0,), cutoffs=(0.3,), folds=2, stances=(True, False),
                          stance_cutoffs=({}, {"en": 0.01}, {"en": 0.99}))
    fitted = [r for r in rows if r["decider"] == "fitted" and r["stance"]]
    by_cut = {json.dumps(r["stance_cutoffs"]): r for r in fitted}
    assert len(fitted) == 3 and set(by_cut) == {"{}", '{"en": 0.01}', '{"en": 0.99}'}
    assert sum(r["decider"] == "fitted" and not r["stance"] for r in rows) == 1  # no stance part: one row
    for r in fitted:  # the cutoffs move stance only: presence comes from the same deciders
        assert (r["macro_f1"], r["negatives_flagged"]) == (by_cut["{}"]["macro_f1"], by_cut["{}"]["negatives_flagged"])
    same = next(r for r in plain if r["decider"] == "fitted" and r["stance"])
    assert same["objective"] == by_cut["{}"]["objective"]  # {} is the decider as fitted
    # every English page found with a narrative promotes at 0.01 and reports at 0.99: of the dev half's English
    # pages that carry one, the promoting ones are right in the first and the reporting ones in the second
    assert by_cut['{"en": 0.01}']["stance_accuracy"] != by_cut['{"en": 0.99}']["stance_accuracy"]

    r = CliRunner().invoke(main, ["decider", "cv", str(tiny_model), "--articles", str(team_file), "--real",
                                  str(rp.real), "--C", "1", "--cutoff", "0.3", "--folds", "2", "--stance",
                                  "--stance-cutoff", "none", "--stance-cutoff", "en=0.01", "--json", str(tmp_path / "cv.json")])
    assert r.exit_code == 0, r.output
    assert "stance cutoffs" in r.output and "en=0.01" in r.output
    cut = [row.get("stance_cutoffs") for row in json.loads((tmp_path / "cv.json").read_text()) if row["decider"] == "fitted"]
    assert set(map(json.dumps, cut)) == {"{}", '{"en": 0.01}'}


def test_fit_writes_the_stance_cutoffs_it_was_given(rp, dev_and_test, team_file, tiny_model, tmp_path):
    out = tmp_path / "fit-cut"
    r = CliRunner().invoke(main, ["decider", "fit", str(tiny_model), "--out", str(out), "--articles", str(team_file),
                                  "--no-real-dev", "--real", str(rp.real), "--stance-cutoff", "en=0.4"])
    assert r.exit_code == 0, r.output
    assert "stance cutoffs en=0.4" in r.output
    stance = json.loads((out / "config.json").read_text(encoding="utf-8"))["article_decider"]["stance"]
    assert stance["cutoffs"] == {"en": 0.4}
    r = CliRunner().invoke(main, ["decider", "fit", str(tiny_model), "--out", str(tmp_path / "no"), "--articles",
                                  str(team_file), "--no-real-dev", "--real", str(rp.real), "--no-stance",
                                  "--stance-cutoff", "en=0.4"])
    assert r.exit_code == 1 and "fit one too" in r.output and not (tmp_path / "no").exists()


def test_fit_also_pages_join_every_folds_fit_and_folds_can_stay_out(rp, dev_and_test, team_file, tiny_model,
                                                                    monkeypatch):
    import narratives.train.decidercv as cv
    from narratives.model import load_model
    from narratives.train.teamarticles import load_articles

    real, _ = real_dev_articles(rp.real)
    clf = load_model(str(tiny_model))
    team = load_articles(team_file, tuple(clf.labels_))
    extra = team[:3]  # stand-ins for a spent set's pages
    sizes: list[int] = []
    fit = cv.fit_decider

    def counting(articles, *args, **kw):
        sizes.append(len(articles))
        return fit(articles, *args, **kw)

    monkeypatch.setattr(cv, "fit_decider", counting)
    cross_validate(clf, team, real, Cs=(1.0,), cutoffs=(0.5,), folds=2, fit_also=extra)
    assert sorted(set(sizes)) == [len(team) + len(extra) + n for n in sorted({len(real) // 2, len(real) - len(real) // 2})]
    sizes.clear()
    rows = [cross_validate(clf, team, real, Cs=(1.0,), cutoffs=(0.5,), folds=2, fit_also=extra, folds_in_fit=False,
                           seeds=(s,)) for s in (0, 1)]
    assert set(sizes) == {len(team) + len(extra)}  # one decider, whatever the fold: no dev page in its fit
    assert rows[0] == rows[1]  # so the cut does not matter


def test_cv_reads_each_narrative_cutoff_on_the_same_fitted_deciders(rp, dev_and_test, team_file, tiny_model, tmp_path):
    from narratives.model import load_model
    from narratives.train.teamarticles import load_articles

    real, _ = real_dev_articles(rp.real)
    clf = load_model(str(tiny_model))
    team = load_articles(team_file, tuple(clf.labels_))
    low, high = dict.fromkeys(clf.labels_, 0.01), dict.fromkeys(clf.labels_, 0.99)
    rows = cross_validate(clf, team, real, Cs=(1.0,), cutoffs=(0.5,), folds=2, stances=(True,),
                          presence_cutoffs=({}, low, high))
    fitted = {json.dumps(r["presence_cutoffs"]): r for r in rows if r["decider"] == "fitted"}
    assert len(fitted) == 3
    plain = next(r for r in cross_validate(clf, team, real, Cs=(1.0,), cutoffs=(0.5,), folds=2, stances=(True,))
                 if r["decider"] == "fitted")
    assert fitted["{}"]["objective"] == plain["objective"]  # {} is the decider as fitted
    # at 0.01 every narrative is predicted on every page, so every negative is flagged; at 0.99 almost none is
    assert fitted[json.dumps(low)]["negatives_flagged"] == 1.0
    assert fitted[json.dumps(high)]["negatives_flagged"] <= fitted["{}"]["negatives_flagged"] < 1.0

    r = CliRunner().invoke(main, ["decider", "cv", str(tiny_model), "--articles", str(team_file), "--real",
                                  str(rp.real), "--C", "1", "--cutoff", "0.5", "--folds", "2", "--stance",
                                  "--narrative-cutoffs", "none", "--narrative-cutoffs", "anti_western=0.01",
                                  "--json", str(tmp_path / "cv.json")])
    assert r.exit_code == 0, r.output
    assert "narrative cutoffs" in r.output and "anti_western=0.01" in r.output
    cut = [row.get("presence_cutoffs") for row in json.loads((tmp_path / "cv.json").read_text())
           if row["decider"] == "fitted"]
    assert set(map(json.dumps, cut)) == {"{}", '{"anti_western": 0.01}'}
    r = CliRunner().invoke(main, ["decider", "cv", str(tiny_model), "--articles", str(team_file), "--real",
                                  str(rp.real), "--narrative-cutoffs", "anti_western:0.3"])
    assert r.exit_code == 2 and "expected NARRATIVE=P" in r.output


def test_fit_writes_the_narrative_cutoffs_it_was_given_and_score_reads_them(rp, dev_and_test, team_file, tiny_model,
                                                                           tmp_path):
    from narratives.model import load_model
    from narratives.serve.articles import score_articles

    out = tmp_path / "fit-ncut"
    r = CliRunner().invoke(main, ["decider", "fit", str(tiny_model), "--out", str(out), "--articles", str(team_file),
                                  "--no-real-dev", "--real", str(rp.real), "--narrative-cutoff", "anti_western=0.01"])
    assert r.exit_code == 0, r.output
    assert "narrative cutoffs anti_western=0.01" in r.output
    presence = json.loads((out / "config.json").read_text(encoding="utf-8"))["article_decider"]["presence"]
    assert presence["cutoffs"] == {"anti_western": 0.01}
    items = [{"id": str(i), "source": "t", "text": text, "extra": {}} for i, (_, _, text) in enumerate(TEXTS)]
    with_cut = list(score_articles(items, model=load_model(str(out))))
    plain = tmp_path / "fit-plain"
    assert CliRunner().invoke(main, ["decider", "fit", str(tiny_model), "--out", str(plain), "--articles",
                                     str(team_file), "--no-real-dev", "--real", str(rp.real)]).exit_code == 0
    without = list(score_articles(items, model=load_model(str(plain))))
    carry = [{i for i, rec in enumerate(recs) if "anti_western" in rec["narratives"]} for recs in (with_cut, without)]
    assert carry[0] > carry[1]  # read at 0.01 instead of 0.5, more articles carry it, and every one that did still does
    for a, b in zip(with_cut, without):  # the other narratives are decided as before
        assert [n for n in a["narratives"] if n != "anti_western"] == [n for n in b["narratives"] if n != "anti_western"]
    r = CliRunner().invoke(main, ["decider", "fit", str(tiny_model), "--out", str(tmp_path / "no"), "--articles",
                                  str(team_file), "--no-real-dev", "--real", str(rp.real),
                                  "--narrative-cutoff", "west_is_bad=0.4"])
    assert r.exit_code == 1 and "'west_is_bad' is not a narrative of the model" in r.output
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("page_models, pages", [(("narratives",), []), (("lexicon",), None)])
def test_stacked_pool_rows_are_refused_beside_page_settings_they_do_not_carry(page_models, pages):
    from narratives.train.poolstack import Stacked

    with pytest.raises(ValueError, match="stacked pool rows carry the page model's and page lexicon's logits only"):
        cross_validate(None, [], [object()] * 5, page_models=page_models, stacked=Stacked([], pages, {}))
