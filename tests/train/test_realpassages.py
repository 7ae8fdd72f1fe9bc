"""Passages from the real training pool: negatives from pool pages without narrative (cut as `narratives score`
cuts them), the best-scored passage per narrative of the others, and `narratives train --real-negatives
--real-positives` fitting on them and recording where they came from."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from narratives.serve.cli import main
from narratives.train.realcache import CacheError
from narratives.train.realpassages import negative_passages, positive_pages, top_passages

ON_TOPIC = ("Burials at Potocari\n\nFamilies buried the remains of victims identified this year at the memorial "
            "centre on Thursday.\n\nThe commission said work on the remaining cases continues.\n\nShort line.")
CARRIES = "Opinion\n\nThe West wrote the rulebook in 2008 and cannot complain when others read from it now."


def _pool(rp):
    neg = rp.reference(rp.url_in("test", "neg"), ON_TOPIC, {}, hard_negative=True, split="train")
    pos = rp.reference(rp.url_in("dev", "pos"), CARRIES, {"kosovo_precedent": "promotes"}, split="train")
    bench = rp.reference(rp.url_in("dev", "bench"), ON_TOPIC + " Bench.", {}, hard_negative=True)
    for ref, text in ((neg, ON_TOPIC), (pos, CARRIES), (bench, ON_TOPIC + " Bench.")):
        rp.cache(ref, text)
    rp.write_refs(rp.real / "train_a.jsonl", [neg, pos])
    rp.write_refs(rp.real / "pages.jsonl", [bench])
    return neg


def test_only_the_pools_pages_without_narrative_give_passages_of_five_words_or_more(rp):
    neg = _pool(rp)
    passages, prov = negative_passages(rp.real)
    assert [p.text for p in passages] == ["Families buried the remains of victims identified this year at the memorial "
                                          "centre on Thursday.", "The commission said work on the remaining cases "
                                          "continues."]  # the title and "Short line." are under five words
    assert {(p.narratives, p.stance, p.split, p.source) for p in passages} == {((), "none", "train", f"real:{neg['id']}")}
    assert prov["pages"] == 1 and prov["passages"] == 2 and len(prov["references_sha256"]) == 64

    (rp.cache_dir / f"{neg['id']}.txt").unlink()
    with pytest.raises(CacheError, match=neg["id"]):
        negative_passages(rp.real)


def test_train_with_real_negatives_fits_them_and_records_them(rp, labels_dir, corpus_dir, tmp_path):
    _pool(rp)
    assert rp.real == labels_dir.parent / "real"  # the pool is read beside the label folder
    base = ["train", "--labels", str(labels_dir), "--corpus", str(corpus_dir), "--no-decider"]
    r = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "with"), "--real-negatives"])
    assert r.exit_code == 0, r.output
    cfg = json.loads((tmp_path / "with" / "config.json").read_text(encoding="utf-8"))
    assert cfg["data"]["real_negatives"]["passages"] == 2
    assert "also fitted on 2 real negative passages" in (tmp_path / "with" / "README.md").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "with" / "recipe.json").read_text(encoding="utf-8"))["real_negatives"] is True
    r = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "without")])
    assert r.exit_code == 0, r.output
    assert "real_negatives" not in json.loads((tmp_path / "without" / "config.json").read_text(encoding="utf-8"))["data"]
    r = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "ens"), "--kind", "ensemble", "--real-negatives"])
    assert r.exit_code == 1 and "apply to a trained kind, not to ensemble" in r.output


def test_positive_pages_give_the_best_scored_passage_per_narrative_with_the_pages_stance(rp, tiny_model):
    from narratives.model import load_model

    _pool(rp)
    pages, prov = positive_pages(rp.real)
    assert [p.labels for p in pages] == [{"kosovo_precedent": "promotes"}] and prov["pages"] == 1
    assert pages[0].passages == (CARRIES.split("\n\n")[1],)  # "Opinion" is under five words
    picked = top_passages(load_model(str(tiny_model)), pages)
    assert [(p.text, p.narratives, p.stance, p.split) for p in picked] == [
        (pages[0].passages[0], ("kosovo_precedent",), "promotes", "train")]


def test_train_with_real_positives_fits_twice_and_records_the_picked_passages(rp, labels_dir, corpus_dir, tmp_path):
    _pool(rp)
    base = ["train", "--labels", str(labels_dir), "--corpus", str(corpus_dir), "--no-decider"]
    r = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "m"), "--real-negatives", "--real-positives"])
    assert r.exit_code == 0, r.output
    data = json.loads((tmp_path / "m" / "config.json").read_text(encoding="utf-8"))["data"]
    assert data["real_positives"]["pages"] == 1 and data["real_positives"]["passages"] == 1
    assert data["real_negatives"]["passages"] == 2
    assert "and on 1 real positive passages" in (tmp_path / "m" / "README.md").read_text(encoding="utf-8")


def test_real_positives_top_picks_the_k_best_passages_per_narrative_and_records_k(rp, labels_dir, corpus_dir, tmp_path):
    neg = _pool(rp)
    two = "Opinion\n\n" + CARRIES.split("\n\n")[1] + "\n\nThe referendum in Crimea only followed the road opened in Pristina."
    pos = rp.reference(rp.url_in("dev", "pos2"), two, {"kosovo_precedent": "promotes"}, split="train")
    rp.cache(pos, two)
    rp.write_refs(rp.real / "train_a.jsonl", [neg, pos])
    base = ["train", "--labels", str(labels_dir), "--corpus", str(corpus_dir), "--no-decider", "--real-positives"]
    r = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "k1")])
    assert r.exit_code == 0, r.output
    one = json.loads((tmp_path / "k1" / "config.json").read_text(encoding="utf-8"))["data"]["real_positives"]
    assert one["passages"] == 1 and "per_narrative" not in one  # k=1 keeps the provenance it always had
    r = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "k2"), "--real-positives-top", "2"])
    assert r.exit_code == 0, r.output
    two_ = json.loads((tmp_path / "k2" / "config.json").read_text(encoding="utf-8"))["data"]["real_positives"]
    assert two_["passages"] == 2 and two_["per_narrative"] == 2  # both passages of the page
    assert json.loads((tmp_path / "k2" / "recipe.json").read_text(encoding="utf-8"))["real_positives_top"] == 2
    assert "the 2 passages a first fit scored highest" in (tmp_path / "k2" / "README.md").read_text(encoding="utf-8")
    r = CliRunner().invoke(main, [*base[:-1], "--out", str(tmp_path / "bad"), "--real-positives-top", "2"])
    assert r.exit_code == 1 and "applies with --real-positives" in r.output
    r = CliRunner().invoke(main, [*base, "--out", str(tmp_path / "bad"), "--real-positives-top", "0"])
    assert r.exit_code == 2 and not (tmp_path / "bad").exists()
