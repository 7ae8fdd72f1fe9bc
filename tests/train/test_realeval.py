"""The real-page benchmark's figures: a hand-computed case, and end to end through the CLI, where every page
is scored exactly as `narratives score` scores the same text."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from narratives.serve.cli import main
from narratives.train.realeval import figures_with_slices
from narratives.train.realpages import Page, RealPage

LABELS = ["anti_western", "nato_encirclement", "genocide_denial"]


def _page(i: int, lang: str, labels: dict, hard: bool = False) -> RealPage:
    return RealPage(Page.model_construct(id=f"p{i}-0000000{i}", url=f"https://example.org/{i}", lang=lang,
                                         labels=labels, hard_negative=hard), f"f:{i}")


def _rec(stances: dict) -> dict:
    return {"narratives": list(stances), "stances": stances, "scores": {k: 0.9 for k in stances},
            "stance": ("promotes" if "promotes" in stances.values() else "reports") if stances else "none",
            "errors": []}


def test_figures_on_a_hand_computed_case():
    refs = [_page(1, "en", {"anti_western": "promotes"}),
            _page(2, "en", {"nato_encirclement": "reports"}),
            _page(3, "ru", {}, hard=True),
            _page(4, "ru", {}),
            _page(5, "sr-Cyrl", {"anti_western": "reports", "nato_encirclement": "promotes"})]
    recs = [_rec({"anti_western": "promotes"}), _rec({}), _rec({"anti_western": "reports"}), _rec({}),
            _rec({"anti_western": "promotes", "nato_encirclement": "promotes"})]
    f = figures_with_slices(refs, recs, LABELS)
    # anti_western: TP pages 1 and 5, FP page 3; nato: TP page 5, FN page 2; genocide_denial absent.
    assert f["per_narrative"]["anti_western"] == {"precision": 0.6667, "recall": 1.0, "f1": 0.8, "support": 2}
    assert f["per_narrative"]["nato_encirclement"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert f["macro_f1"] == 0.7333  # (0.8 + 2/3) / 2: a narrative absent from gold and predictions is left out
    assert (f["negatives"], f["negatives_flagged"], f["hard_negatives"], f["hard_negatives_flagged"]) == (2, 0.5, 1, 1.0)
    assert f["stance_accuracy"] == 0.6  # pages 1, 4, 5 right; 2 (reports -> none) and 3 (none -> reports) wrong
    assert (f["pages_found"], f["stance_accuracy_found"]) == (2, 1.0)
    assert f["narrative_stance_accuracy"] == 0.6667  # page 5's anti_western is reported, predicted promoted
    en, ru = f["per_language"]["en"], f["per_language"]["ru"]
    assert (en["macro_f1"], en["stance_accuracy"], en["negatives_flagged"]) == (0.5, 0.5, None)
    assert (ru["macro_f1"], ru["stance_accuracy"], ru["negatives_flagged"]) == (0.0, 0.5, 0.5)
    non_en = f["language_groups"]["non-English"]
    assert (non_en["n"], non_en["macro_f1"], non_en["stance_accuracy"]) == (3, 0.8333, 0.6667)
    assert [(e["id"], e["kind"], e["narrative"]) for e in f["errors"]] == [
        ("p2-00000002", "missed", "nato_encirclement"), ("p3-00000003", "false_alarm", "anti_western"),
        ("p5-00000005", "wrong_stance", "anti_western")]
    assert all(e["url"].startswith("https://example.org/") for e in f["errors"])


PAGES = [  # team-written page texts, with a headline line as real pages have
    ("en", {"kosovo_precedent": "promotes"}, False,
     "Commentary\n\nWhat was allowed for Pristina in 2008 must now be allowed for Crimea and Donetsk. The West "
     "wrote that rulebook itself and cannot complain when others read from it.\n\nShort line."),
    ("en", {"genocide_denial": "reports"}, False,
     "Fact-check\n\nA viral post claims that the numbers from July 1995 were inflated. The court records and the "
     "identified remains show the claim is false, and the post misquotes the tribunal."),
    ("en", {}, True,
     "Energy news\n\nThe government signed an extension of the gas supply contract for the winter months. Prices "
     "will be reviewed in spring, the ministry said in a statement on Tuesday."),
    ("sr-Latn", {"anti_western": "promotes"}, False,
     "Komentar\n\nZapad organizuje obojene revolucije na Balkanu, a sankcije su samo oruzje protiv naroda koji "
     "nece da se pokori Briselu i Vasingtonu."),
    ("ru", {}, False, "Новости\n\nВ Белграде прошла выставка книг. Посетители пришли семьями, а вечером был концерт."),
    ("en", {}, False, "Sport\n\nThe home side won the derby two to one after a late goal in front of a full stadium."),
]


@pytest.fixture()
def real_pages(rp):
    refs = []
    for i, (lang, labels, hard, text) in enumerate(PAGES):
        ref = rp.reference(rp.url_in("dev" if i % 2 else "test", f"e2e{i}"), text, labels, lang=lang,
                           hard_negative=hard)
        rp.cache(ref, text)
        refs.append(ref)
    rp.write_refs(rp.real / "pages.jsonl", refs)
    return refs


def test_a_taxonomy_of_one_narrative_scores_that_narrative_not_its_absence():
    """scikit-learn reads a one-column indicator as a binary vector; the figures are still the narrative's own."""
    from narratives.train.realeval import page_figures

    found = {"narratives": ["a"], "stances": {"a": "promotes"}, "stance": "promotes"}
    f = page_figures([{"a": "promotes"}, {}], [found, found], [False, True], ["a"])
    assert f["per_narrative"]["a"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}
    assert f["macro_f1"] == 0.6667 and f["negatives_flagged"] == 1.0


def test_evaluate_scores_pages_as_narratives_score_does(rp, real_pages, tiny_model, tmp_path, monkeypatch):
    monkeypatch.delenv("NARRATIVES_INT8_SUMS", raising=False)
    out = tmp_path / "real.json"
    r = CliRunner().invoke(main, ["real", "evaluate", str(tiny_model), "baseline", "--real", str(rp.real),
                                  "--split", "all", "--json", str(out)])
    assert r.exit_code == 0, r.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["n_pages"] == len(PAGES) and list(report["models"]) == [str(tiny_model), "baseline"]
    assert "macro-F1" in r.output and "errors of baseline" in r.output
    # int8 models' figures depend on the CPU's integer dot product: the report names this machine's
    from narratives.model.int8sums import int8_kernel

    assert report["int8_kernel"] == int8_kernel() and f"int8 kernel {int8_kernel()}, sums {report['int8_sums']})" in r.output
    # exact on a VNNI CPU and wherever the exact-sums graph serves (a CPU without VNNI, unless told otherwise)
    assert report["int8_sums"] == ("exact" if int8_kernel() in ("vnni", "avx2") else "native")

    # The same texts as .txt files through `narratives score`.
    txt = tmp_path / "txt"
    txt.mkdir()
    for ref in real_pages:
        (txt / f"{ref['id']}.txt").write_bytes((rp.cache_dir / f"{ref['id']}.txt").read_bytes())
    scored = tmp_path / "scores.jsonl"
    r = CliRunner().invoke(main, ["score", str(txt), "-o", str(scored), "--model", str(tiny_model), "--no-progress"])
    assert r.exit_code == 0, r.output
    by_id = {rec["id"]: rec for rec in map(json.loads, scored.read_text(encoding="utf-8").splitlines())}

    from narratives.train.realeval import figures_with_slices
    from narratives.train.realpages import load_references

    refs = load_references(rp.real)
    recs = [by_id[ref.page.id] for ref in refs]
    labels = list(report["models"][str(tiny_model)]["per_narrative"])
    expected = figures_with_slices(refs, recs, labels)
    got = report["models"][str(tiny_model)]
    for key in ("per_narrative", "macro_f1", "negatives_flagged", "stance_accuracy", "per_language", "errors"):
        assert got[key] == expected[key], key
    assert any(rec["narratives"] for rec in recs), "the tiny model should flag at least one page"


def test_evaluate_selects_the_half_and_refuses_a_partial_cache(rp, real_pages, tiny_model, tmp_path):
    out = tmp_path / "dev.json"
    r = CliRunner().invoke(main, ["real", "evaluate", str(tiny_model), "--real", str(rp.real), "--split", "dev",
                                  "--json", str(out), "--no-errors"])
    assert r.exit_code == 0, r.output
    dev = json.loads(out.read_text(encoding="utf-8"))
    assert dev["n_pages"] == sum(ref["split"] == "dev" for ref in real_pages)
    both = tmp_path / "both.json"
    r = CliRunner().invoke(main, ["real", "evaluate", str(tiny_model), "--real", str(rp.real), "--split", "dev",
                                  "--split", "test", "--json", str(both), "--no-errors"])
    assert r.exit_code == 0, r.output
    both_report = json.loads(both.read_text(encoding="utf-8"))
    assert both_report["dev"] == dev  # one run over both halves gives each half's own figures
    assert both_report["test"]["n_pages"] == len(real_pages) - dev["n_pages"]
    assert both_report["test"]["references_sha256"] != dev["references_sha256"]
    gone = [ref for ref in real_pages if ref["split"] == "test"][:2]
    for ref in gone:
        (rp.cache_dir / f"{ref['id']}.txt").unlink()
    r = CliRunner().invoke(main, ["real", "evaluate", str(tiny_model), "--real", str(rp.real), "--split", "test"])
    assert r.exit_code == 1 and "does not run on a partial cache" in r.output
    for ref in gone:
        assert f"{ref['id']}  {ref['url']}  (not cached)" in r.output
    r = CliRunner().invoke(main, ["real", "evaluate", str(tiny_model), "--real", str(rp.real), "--split", "dev"])
    assert r.exit_code == 0, r.output  # the dev half is complete
