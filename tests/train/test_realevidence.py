"""Marked evidence passages of the training pool's pages (data/real/evidence/*.jsonl): read and checked with file and
line, and `narratives train --real-positives --real-evidence` fitting on them instead of the best-scored guess."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from narratives.serve.cli import main
from narratives.train.realevidence import EvidenceError, check_evidence, load_evidence, marked_passages
from narratives.train.realpassages import positive_pages

TWO = ("Opinion\n\nThe mayor opened the new bridge over the river on Monday morning.\n\n"
       "The West wrote the rulebook in 2008 and cannot complain when others read from it now.")
ONE = "Column\n\nCrimea only followed the road that the West opened in Pristina in 2008, he wrote."
SECOND = (76, 161)  # the span of TWO's third paragraph


def _pool(rp):
    two = rp.reference(rp.url_in("test", "two"), TWO, {"kosovo_precedent": "promotes"}, split="train")
    one = rp.reference(rp.url_in("dev", "one"), ONE, {"kosovo_precedent": "reports"}, split="train")
    for ref, text in ((two, TWO), (one, ONE)):
        rp.cache(ref, text)
    rp.write_refs(rp.real / "train_a.jsonl", [two, one])
    return two, one


def _evidence(rp, *rows, name="pool.jsonl"):
    folder = rp.real / "evidence"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_span_constant_is_the_third_paragraph():
    assert TWO[SECOND[0]:SECOND[1]].startswith("The West wrote") and TWO[SECOND[1]:] == ""


def test_marked_pages_give_their_evidence_as_positives_and_their_other_passages_as_negatives(rp):
    two, one = _pool(rp)
    _evidence(rp, {"page": two["id"], "narrative": "kosovo_precedent", "spans": [list(SECOND)]})
    carried, _ = positive_pages(rp.real)
    passages, rest, prov = marked_passages(rp.real, carried)
    assert [(p.text[:14], p.narratives, p.stance, p.source) for p in passages] == [
        ("The mayor open", (), "none", f"real:{two['id']}"),
        ("The West wrote", ("kosovo_precedent",), "promotes", f"real:{two['id']}")]
    assert [p.id for p in rest] == [one["id"]]  # left to the best-scored guess
    assert (prov["pages"], prov["passages"], prov["positives"], len(prov["evidence_sha256"])) == (1, 2, 1, 64)


def test_bad_lines_are_named_by_file_and_line_and_every_problem_is_reported(rp):
    two, one = _pool(rp)
    _evidence(rp, {"page": two["id"], "narrative": "kosovo_precedent", "spans": [[10, 5]]},
              {"page": one["id"], "narrative": "kosovo_precedent", "spans": [], "note": "x"})
    with pytest.raises(EvidenceError) as err:
        load_evidence(rp.real)
    where = [w for w, _ in err.value.problems]
    assert where == [f"{rp.real / 'evidence' / 'pool.jsonl'}:1", f"{rp.real / 'evidence' / 'pool.jsonl'}:2"]
    assert "0 <= start < end" in err.value.problems[0][1] and "fields must be" in err.value.problems[1][1]


def test_a_pair_given_in_two_files_is_refused(rp):
    two, _ = _pool(rp)
    row = {"page": two["id"], "narrative": "kosovo_precedent", "spans": [list(SECOND)]}
    _evidence(rp, row, name="a.jsonl")
    _evidence(rp, row, name="b.jsonl")
    with pytest.raises(EvidenceError, match=r"b\.jsonl:1: .* is given in .*a\.jsonl:1 already"):
        load_evidence(rp.real)


@pytest.mark.parametrize("row, message", [
    ({"page": "nobody-00000000", "narrative": "kosovo_precedent", "spans": []}, "not a page of the training pool"),
    ({"page": "TWO", "narrative": "rs_secession", "spans": []}, "does not carry rs_secession"),
    ({"page": "TWO", "narrative": "kosovo_precedent", "spans": [[76, 150]]}, "not one of the page's passages"),
])
def test_evidence_that_does_not_fit_its_page_is_refused(rp, row, message):
    two, _ = _pool(rp)
    row = {**row, "page": two["id"] if row["page"] == "TWO" else row["page"]}
    _evidence(rp, row)
    carried, _ = positive_pages(rp.real)
    evidence, where = load_evidence(rp.real)
    with pytest.raises(EvidenceError, match=message):
        check_evidence(evidence, where, {p.id: (p.labels, p.spans) for p in carried})


def test_a_marked_page_needs_a_line_for_every_narrative_it_carries(rp):
    two = rp.reference(rp.url_in("test", "two"), TWO, {"kosovo_precedent": "promotes", "anti_western": "promotes"},
                       split="train")
    rp.cache(two, TWO)
    rp.write_refs(rp.real / "train_a.jsonl", [two])
    _evidence(rp, {"page": two["id"], "narrative": "kosovo_precedent", "spans": [list(SECOND)]})
    with pytest.raises(EvidenceError, match="carries anti_western too"):
        marked_passages(rp.real, positive_pages(rp.real)[0])


def test_train_with_real_evidence_fits_the_marked_passages_and_records_them(rp, labels_dir, corpus_dir, tmp_path):
    two, one = _pool(rp)
    _evidence(rp, {"page": two["id"], "narrative": "kosovo_precedent", "spans": [list(SECOND)]},
              {"page": one["id"], "narrative": "kosovo_precedent", "spans": [[8, 89]]})
    base = ["train", "--labels", str(labels_dir), "--corpus", str(corpus_dir), "--no-decider", "--real-positives"]
    r = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "m"), "--real-evidence"])
    assert r.exit_code == 0, r.output
    data = json.loads((tmp_path / "m" / "config.json").read_text(encoding="utf-8"))["data"]
    assert (data["real_evidence"]["pages"], data["real_evidence"]["positives"], data["real_evidence"]["passages"]) == (2, 2, 3)
    assert data["real_positives"]["pages"] == 0 and data["real_positives"]["passages"] == 0  # nothing left to guess
    card = (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    assert "2 marked passages with the page's stance" in card and "real positive passages" not in card
    assert json.loads((tmp_path / "m" / "recipe.json").read_text(encoding="utf-8"))["real_evidence"] is True

    r = CliRunner().invoke(main, [*base[:-1], "--out", str(tmp_path / "n"), "--real-evidence"])
    assert r.exit_code == 1 and "--real-evidence applies with --real-positives" in r.output


def test_bad_evidence_stops_training_before_anything_is_written(rp, labels_dir, corpus_dir, tmp_path):
    two, _ = _pool(rp)
    _evidence(rp, {"page": two["id"], "narrative": "kosovo_precedent", "spans": [[0, 3]]})
    r = CliRunner().invoke(main, ["train", "--labels", str(labels_dir), "--corpus", str(corpus_dir), "--no-decider",
                                  "--real-positives", "--real-evidence", "--out", str(tmp_path / "m")])
    assert r.exit_code == 1 and "pool.jsonl:1: span [0, 3] is not one of the page's passages" in r.output
    assert not (tmp_path / "m").exists()


def test_the_committed_evidence_names_pool_pages_and_covers_each_marked_pages_narratives():
    from narratives.train.realpages import load_references, real_dir

    evidence, where = load_evidence(real_dir())
    carried = {r.page.id: set(r.page.labels) for r in load_references() if r.page.split == "train" and r.page.labels}
    marked: dict[str, set[str]] = {}
    for page, narrative in evidence:
        marked.setdefault(page, set()).add(narrative)
    assert evidence and set(marked) <= set(carried)
    assert all(marked[p] == carried[p] for p in marked)  # a marked page has a line for every narrative it carries
    assert all(spans for spans in evidence.values())  # every committed line marks at least one passage
