import json

from click.testing import CliRunner

from narratives.serve.cli import main
from narratives.train.check import check_labels


def _run(labels_dir, corpus_dir, *extra):
    return CliRunner().invoke(main, ["labels", "check", "--labels", str(labels_dir), "--corpus", str(corpus_dir),
                                     *extra])


def test_clean_fixture_passes(labels_dir, corpus_dir):
    r = _run(labels_dir, corpus_dir)
    assert r.exit_code == 0, r.output
    assert "0 error(s)" in r.output


def test_duplicates_across_splits_and_changed_test_are_errors(labels_dir, corpus_dir):
    team = labels_dir / "team.jsonl"
    rows = [json.loads(line) for line in open(team)]
    (labels_dir / "test_split.lock").write_text(json.dumps({"sha256": "0" * 64, "n": 0}))
    dup = dict(rows[0], id="D-1", source="s9", split="dev")  # exact duplicate text
    near = dict(rows[1], id="D-2", source="s9", split="dev", text=rows[1]["text"].replace("every", "each"))
    src = dict(rows[2], id="D-3", source="s1", split="test")  # source s1 is in train already
    with open(team, "a") as fh:
        for r in (dup, near, src):
            fh.write(json.dumps(r) + "\n")
    res = check_labels(labels_dir, corpus_dir)
    msgs = "\n".join(f"{w}: {m}" for w, m in res.errors)
    assert "team.jsonl:30: duplicate text of" in msgs
    assert "team.jsonl:31: near-duplicate of" in msgs and "across splits train/dev" in msgs
    assert "source 's1' feeds several splits" in msgs
    assert "frozen test split changed" in msgs
    assert _run(labels_dir, corpus_dir).exit_code == 1


def test_targets_are_enforced(labels_dir, corpus_dir):
    (labels_dir / "targets.yaml").write_text("narratives: [genocide_denial]\nper_narrative: {promotes: 40}\n"
                                             "hard_negatives: 1000\nwords: {min: 15, max: 150}\n")
    res = check_labels(labels_dir, corpus_dir)
    msgs = [m for _, m in res.errors]
    assert any(m.startswith("genocide_denial:") and "target 40" in m for m in msgs)
    assert any(m.startswith("hard_negatives:") for m in msgs)
    assert any("words (allowed 15-150)" in m for m in msgs)
    assert not check_labels(labels_dir, corpus_dir, targets=False).errors


def test_the_repository_labels_pass_the_check():
    res = check_labels()
    assert res.errors == [], res.errors[:5]
    c = res.counts
    assert c["total"] >= 700 and c["hard_negatives"] >= 150 and c["non_english"] >= 150


def test_headline_files_have_their_own_word_bounds(labels_dir, corpus_dir):
    """Short headings are labelled in their own file (article scoring makes each heading a passage); only
    that file gets the short bounds, and a headline over its maximum is still an error."""
    import json

    rows = [{"id": "HX-1", "text": "Relations with Russia", "lang": "en", "narratives": [], "stance": "none",
             "source": "HX-s1", "split": "train"},
            {"id": "HX-2", "text": " ".join(["word"] * 25), "lang": "en", "narratives": [], "stance": "none",
             "source": "HX-s1", "split": "train"}]
    (labels_dir / "heads.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (labels_dir / "other.jsonl").write_text(json.dumps({**rows[0], "id": "HX-3", "text": "Sanctions policy",
                                                        "source": "HX-s2"}) + "\n")
    base = "words: {min: 15, max: 150}\n"
    (labels_dir / "targets.yaml").write_text(base + "headlines: {files: [heads.jsonl], words: {min: 2, max: 20}}\n")
    msgs = [f"{w}: {m}" for w, m in check_labels(labels_dir, corpus_dir).errors]
    assert any("heads.jsonl:2: headline has 25 words (allowed 2-20)" in m for m in msgs)
    assert not any("heads.jsonl:1:" in m for m in msgs)
    assert any("other.jsonl:1: passage has 2 words (allowed 15-150)" in m for m in msgs)
    (labels_dir / "targets.yaml").write_text(base + "headlines: {files: heads.jsonl}\n")
    msgs = [m for _, m in check_labels(labels_dir, corpus_dir).errors]
    assert any("headlines takes files" in m for m in msgs)
