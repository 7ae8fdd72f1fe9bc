"""``labels import``: every format, and every way an import must refuse (and then write nothing)."""
from __future__ import annotations

import json

import pytest

from narratives.train.data import LabelError, load_passages
from narratives.train.importers import guess_format, import_labels, read_label_file

EN = "The government sanctions were imposed by Brussels because the West hates an independent Serbia."
EN2 = "Kosovo set the precedent, so the referendums in Crimea were just as legitimate as Pristina's declaration."
NEG = "The central bank in Belgrade left its key interest rate unchanged for the third month in a row."


def ls_task(tid, text, narratives=None, stance=None, source="doc-a", extra=None):
    result = []
    if narratives is not None:
        result.append({"from_name": "narratives", "to_name": "text", "type": "choices", "value": {"choices": narratives}})
    if stance is not None:
        result.append({"from_name": "stance", "to_name": "text", "type": "choices", "value": {"choices": [stance]}})
    task = {"id": tid, "data": {"text": text, "source": source}, "annotations": [{"id": tid * 10, "result": result}]}
    task.update(extra or {})
    return task


def write(path, content):
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def test_csv_import_writes_a_valid_label_file(labels_dir, corpus_dir, tmp_path):
    src = write(tmp_path / "week.csv", "text,narratives,stance,source\n"
                f'"{EN}",anti_western,promotes,s-a\n"{EN2}",kosovo_precedent; anti_western,promotes,s-b\n'
                f'"{NEG}",,none,s-c\n')
    res = import_labels(src, labels_dir, corpus_dir)
    assert [r["narratives"] for r in res.records] == [["anti_western"], ["anti_western", "kosovo_precedent"], []]
    out = labels_dir / "imported_week.jsonl"
    assert out.exists() and {r["split"] for r in res.records} <= {"train", "dev"}
    loaded = {p.text: p for p in load_passages(labels_dir, corpus_dir)}
    assert loaded[EN].stance == "promotes" and loaded[EN].lang == "en"


def test_csv_with_bom_and_crlf(labels_dir, corpus_dir, tmp_path):
    src = tmp_path / "bom.csv"
    src.write_bytes(b"\xef\xbb\xbftext,narratives,stance\r\n" + f'"{EN}",anti_western,promotes\r\n'.encode())
    assert len(import_labels(src, labels_dir, corpus_dir).records) == 1


def test_jsonl_and_doccano(labels_dir, corpus_dir, tmp_path):
    src = write(tmp_path / "a.jsonl", json.dumps({"text": EN, "narratives": ["anti_western"], "stance": "promotes"}) + "\n")
    assert guess_format(src) == "jsonl"
    assert import_labels(src, labels_dir, corpus_dir).records[0]["narratives"] == ["anti_western"]
    quoted = "Pro-government tabloids claim that the sanctions prove the West wants Serbia on its knees."
    article = f"{NEG} {quoted}"
    start = article.index(quoted)
    doc = write(tmp_path / "d.jsonl", "\n".join(json.dumps(r) for r in [
        {"id": 7, "text": EN2, "label": ["kosovo_precedent", "promotes"]},
        {"id": 8, "text": article, "label": [[start, len(article), "anti_western"], [start, len(article), "reports"]]},
        {"id": 9, "text": NEG, "label": ["none"]},
    ]) + "\n")
    assert guess_format(doc) == "doccano"
    recs = import_labels(doc, labels_dir, corpus_dir).records
    assert [(r["text"], r["narratives"], r["stance"]) for r in recs] == [
        (EN2, ["kosovo_precedent"], "promotes"), (quoted, ["anti_western"], "reports"), (NEG, [], "none")]


def test_label_studio_choices_spans_and_skips(labels_dir, corpus_dir, tmp_path):
    article = f"{NEG} {EN}"
    start = article.index(EN)
    span = {"id": 5, "data": {"text": article, "source": "doc-z"}, "annotations": [{"result": [
        {"type": "labels", "from_name": "label", "to_name": "text",
         "value": {"start": start, "end": len(article), "text": EN, "labels": ["anti_western", "promotes"]}}]}]}
    tasks = [ls_task(1, EN2, ["kosovo_precedent"], "reports"), ls_task(2, NEG, [], "none"), span,
             ls_task(3, "An unfinished task.", extra={"annotations": []}),
             ls_task(4, "A cancelled one.", ["anti_western"], "promotes",
                     extra={"annotations": [{"was_cancelled": True, "result": []}]})]
    res = import_labels(write(tmp_path / "export.json", tasks), labels_dir, corpus_dir)
    assert [(r["id"], r["text"], r["stance"]) for r in res.records] == [
        ("export-1", EN2, "reports"), ("export-2", NEG, "none"), ("export-5-s1", EN, "promotes")]
    assert sum("skipped" in m for _, m in res.warnings) == 2


@pytest.mark.parametrize("tasks, expected", [
    ([ls_task(1, EN, ["not_a_narrative"], "promotes")], "unknown narrative id(s) ['not_a_narrative']; valid: genocide_denial"),
    ([ls_task(1, "   ", ["anti_western"], "promotes")], "field 'text' must be a non-empty string"),
    ([ls_task(1, EN, ["anti_western"], None)], "field 'stance' must be one of"),
    ([ls_task(1, EN, [], "promotes")], "stance must be 'none' exactly when"),
    ([ls_task(1, EN, ["anti_western"], "promotes"), ls_task(2, EN, ["anti_western"], "reports")],
     "the same text is labelled differently"),
    ([ls_task(1, EN, ["anti_western"], "promotes", extra={"annotations": [
        {"result": [{"type": "choices", "from_name": "stance", "value": {"choices": ["promotes"]}}]},
        {"result": [{"type": "choices", "from_name": "stance", "value": {"choices": ["reports"]}}]}]})],
     "2 annotations of this task disagree"),
    ([{"id": 1, "data": {"text": EN}, "annotations": [{"result": [{"type": "labels", "value": {
        "start": 0, "end": 10, "text": "not this", "labels": ["anti_western", "promotes"]}}]}]}],
     "does not match the task text"),
    ([{"id": 1, "data": {"body": EN}}], "data.text (the task text) is missing"),
])
def test_label_studio_problems_write_nothing(labels_dir, corpus_dir, tmp_path, tasks, expected):
    src = write(tmp_path / "export.json", tasks)
    before = sorted(p.name for p in labels_dir.iterdir())
    with pytest.raises(LabelError) as err:
        import_labels(src, labels_dir, corpus_dir)
    assert expected in str(err.value) and "task 1" in str(err.value)
    assert sorted(p.name for p in labels_dir.iterdir()) == before


def test_problems_name_file_and_line(labels_dir, corpus_dir, tmp_path):
    src = write(tmp_path / "bad.csv", f'text,narratives,stance\n"{EN}",anti_western,promotes\n"{EN2}",bogus,promotes\n')
    with pytest.raises(LabelError) as err:
        import_labels(src, labels_dir, corpus_dir)
    assert f"{src}:3: unknown narrative id(s) ['bogus']" in str(err.value)
    assert not (labels_dir / "imported_bad.jsonl").exists()


def test_conflicts_with_the_label_folder(labels_dir, corpus_dir, tmp_path):
    existing = load_passages(labels_dir, corpus_dir)[0]
    other = "promotes" if existing.stance != "promotes" else "reports"
    src = write(tmp_path / "c.jsonl", json.dumps({"text": existing.text, "narratives": list(existing.narratives) or
                                                   ["anti_western"], "stance": other}) + "\n")
    with pytest.raises(LabelError, match="labelled differently at"):
        import_labels(src, labels_dir, corpus_dir)
    same = write(tmp_path / "s.jsonl", json.dumps({"text": existing.text, "narratives": list(existing.narratives),
                                                   "stance": existing.stance}) + "\n")
    res = import_labels(same, labels_dir, corpus_dir)
    assert res.records == [] and "already labelled" in res.warnings[0][1]
    dup = write(tmp_path / "i.jsonl", json.dumps({"id": existing.id, "text": EN, "narratives": ["anti_western"],
                                                  "stance": "promotes"}) + "\n")
    with pytest.raises(LabelError, match="is already used at"):
        import_labels(dup, labels_dir, corpus_dir)


def test_frozen_test_source_and_test_split_refused(labels_dir, corpus_dir, tmp_path):
    from narratives.train.splits import freeze_test

    freeze_test(labels_dir, load_passages(labels_dir, corpus_dir))
    test_source = next(p.source for p in load_passages(labels_dir, corpus_dir) if p.split == "test")
    src = write(tmp_path / "t.jsonl", json.dumps({"text": EN, "narratives": ["anti_western"], "stance": "promotes",
                                                  "source": test_source}) + "\n")
    with pytest.raises(LabelError, match="is in the test split, which takes no imported passages"):
        import_labels(src, labels_dir, corpus_dir)
    src = write(tmp_path / "u.jsonl", json.dumps({"text": EN, "narratives": ["anti_western"], "stance": "promotes",
                                                  "split": "test"}) + "\n")
    with pytest.raises(LabelError, match="field 'split' must be train or dev"):
        import_labels(src, labels_dir, corpus_dir)


def test_never_overwrites_and_dry_run(labels_dir, corpus_dir, tmp_path):
    src = write(tmp_path / "w.jsonl", json.dumps({"text": EN, "narratives": ["anti_western"], "stance": "promotes"}) + "\n")
    assert import_labels(src, labels_dir, corpus_dir, dry_run=True).records
    assert not (labels_dir / "imported_w.jsonl").exists()
    import_labels(src, labels_dir, corpus_dir, name="batch1")
    other = write(tmp_path / "x.jsonl", json.dumps({"text": EN2, "narratives": ["kosovo_precedent"],
                                                    "stance": "promotes"}) + "\n")
    with pytest.raises(LabelError, match="exists already"):
        import_labels(other, labels_dir, corpus_dir, name="batch1")
    with pytest.raises(LabelError, match="the name must be"):
        import_labels(other, labels_dir, corpus_dir, name="../escape")


def test_language_detection_and_ambiguity(labels_dir, corpus_dir, tmp_path):
    latin = "Zapad je uveo sankcije jer ne može da podnese slobodnu i nezavisnu Srbiju koja ne sluša nikoga."
    src = write(tmp_path / "l.jsonl", json.dumps({"text": latin, "narratives": ["anti_western"], "stance": "promotes"}) + "\n")
    with pytest.raises(LabelError, match="cannot tell the language"):
        import_labels(src, labels_dir, corpus_dir)
    assert import_labels(src, labels_dir, corpus_dir, lang="sr-Latn").records[0]["lang"] == "sr-Latn"


def test_unreadable_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe not json")
    raws, problems, _ = read_label_file(bad)
    assert raws == [] and "not valid UTF-8" in problems[0][1]
    with pytest.raises(ValueError, match="cannot tell the format"):
        read_label_file(write(tmp_path / "x.txt", "hello"))


def test_review_findings_are_refused_or_handled(labels_dir, corpus_dir, tmp_path):
    """Defects a review found: each is now an error (nothing written) or handled as documented."""
    def refused(content, match, name="x.jsonl"):
        src = write(tmp_path / name, content)
        with pytest.raises(LabelError, match=match):
            import_labels(src, labels_dir, corpus_dir, name="review")
        assert not (labels_dir / "review.jsonl").exists()

    row = lambda **kw: json.dumps({"text": EN, "narratives": ["anti_western"], "stance": "promotes", **kw})  # noqa: E731
    refused(row(id="x1") + "\n" + json.dumps({"id": "x1", "text": EN2, "narratives": [], "stance": "none"}) + "\n",
            "is used twice in this file")
    dev_source = next(p.source for p in load_passages(labels_dir, corpus_dir) if p.split == "dev")
    refused(row(source=dev_source, split="train") + "\n", "would feed several splits")
    refused(row(source="new1", split="train") + "\n" + json.dumps(
        {"text": EN2, "narratives": [], "stance": "none", "source": "new1", "split": "dev"}) + "\n", "several splits")
    test_source = next(p.source for p in load_passages(labels_dir, corpus_dir) if p.split == "test")
    refused(row(source=test_source) + "\n", "is in the test split")  # no lock file yet: still refused
    refused([ls_task(1, EN, extra={"annotations": [{"result": [
        {"type": "choices", "from_name": "narrative", "value": {"choices": ["anti_western"]}}]}]})],
        "choices named 'narrative'", name="e.json")
    refused(json.dumps({"id": 1, "text": EN, "label": [[[0], 5, "anti_western"]]}) + "\n", "integer offsets")
    refused(json.dumps({"id": 1, "text": None, "label": [[0, 5, "anti_western"]]}) + "\n", "'text' must be a string")
    # A span-only task whose annotator also picked a stance: the spans are imported, not the article.
    article = f"{NEG} {EN}"
    span = {"id": 9, "data": {"text": article}, "annotations": [{"result": [
        {"type": "choices", "from_name": "stance", "value": {"choices": ["promotes"]}},
        {"type": "labels", "value": {"start": article.index(EN), "end": len(article), "labels": ["anti_western", "promotes"]}}]}]}
    res = import_labels(write(tmp_path / "s.json", [span]), labels_dir, corpus_dir, name="spans")
    assert [r["text"] for r in res.records] == [EN]
    # A dry run reports an existing target too.
    with pytest.raises(LabelError, match="exists already"):
        import_labels(write(tmp_path / "d.jsonl", row() + "\n"), labels_dir, corpus_dir, name="spans", dry_run=True)


def test_label_studio_export_with_bom_crlf_or_truncation(labels_dir, corpus_dir, tmp_path):
    raw = json.dumps([ls_task(1, EN, ["anti_western"], "promotes")], indent=1).encode()
    ok = tmp_path / "bom.json"
    ok.write_bytes(b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n"))
    assert len(import_labels(ok, labels_dir, corpus_dir, dry_run=True).records) == 1
    cut = tmp_path / "cut.json"
    cut.write_bytes(raw[:-20])
    raws, problems, _ = read_label_file(cut)
    assert raws == [] and problems[0][0] == str(cut) and "malformed JSON" in problems[0][1]
