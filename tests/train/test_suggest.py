"""``suggest``: uncertain passages first, Label Studio tasks with pre-annotations, and a round trip
back through ``labels import``."""
from __future__ import annotations

import json

from narratives.train.importers import import_labels
from narratives.train.suggest import priority, suggest, write_tasks

ARTICLE = "\n\n".join([
    "Kosovo set the precedent: what the West allowed in Pristina it cannot forbid in Crimea or Banja Luka today.",
    "The weather in Sarajevo stayed mild all week, and the markets were busy with shoppers before the holidays.",
    "Analysts say the claim that Kosovo justifies the annexation of Crimea ignores the court's narrow opinion.",
    "Srebrenica numbers were inflated, they say, and the tribunal in The Hague was built to convict Serbs only.",
    "Too short.",
])


def test_priority_is_highest_at_the_threshold():
    th = {"a": 0.3}
    assert priority({"a": 0.3}, th, 0.5, []) == 1.0
    assert priority({"a": 0.0}, th, 0.5, []) < priority({"a": 0.2}, th, 0.5, []) < 1.0
    assert priority({"a": 0.9}, th, 0.5, ["a"]) == 1.0  # undecided stance on a predicted narrative


def test_tasks_are_ranked_capped_and_carry_the_model_version(tmp_path, tiny_model, labels_dir, corpus_dir):
    (tmp_path / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "b.txt").write_text(ARTICLE.replace("week", "month"), encoding="utf-8")
    tasks = suggest([str(tmp_path / "a.txt"), str(tmp_path / "b.txt")], n=10, model=tiny_model, per_article=2,
                    labels=labels_dir, corpus=corpus_dir, min_words=8)
    version = json.loads((tiny_model / "manifest.json").read_text())["model_hash"][:12]
    assert 0 < len(tasks) <= 4
    assert all(t["predictions"][0]["model_version"] == version for t in tasks)
    priorities = [t["meta"]["priority"] for t in tasks]
    assert priorities == sorted(priorities, reverse=True)  # the file's order is the labelling order
    assert [t["meta"]["rank"] for t in tasks] == list(range(1, len(tasks) + 1))
    for t in tasks:  # Label Studio's score is the model's confidence in [0, 1]: 1 - uncertainty
        assert t["predictions"][0]["score"] == round(1 - t["meta"]["uncertainty"], 4)
        assert 0 <= t["predictions"][0]["score"] <= 1
    assert max(sum(t["data"]["article_id"] == a for t in tasks) for a in ("a", "b")) <= 2
    assert all(len(t["data"]["text"].split()) >= 8 for t in tasks)  # "Too short." never suggested
    assert len({t["data"]["text"] for t in tasks}) == len(tasks)  # repeats across articles dropped
    for t in tasks:
        assert ARTICLE.replace("week", "month")[t["data"]["start"]:t["data"]["end"]] == t["data"]["text"] or \
            ARTICLE[t["data"]["start"]:t["data"]["end"]] == t["data"]["text"]


def test_labelled_passages_are_not_suggested_again(tmp_path, tiny_model, labels_dir, corpus_dir):
    from narratives.train.data import load_passages

    known = load_passages(labels_dir, corpus_dir)[0].text
    (tmp_path / "a.txt").write_text(f"{known}\n\n{ARTICLE}", encoding="utf-8")
    tasks = suggest([str(tmp_path / "a.txt")], n=20, model=tiny_model, per_article=20, labels=labels_dir,
                    corpus=corpus_dir)
    assert known not in {t["data"]["text"] for t in tasks} and tasks


def test_round_trip_through_label_studio(tmp_path, tiny_model, labels_dir, corpus_dir):
    (tmp_path / "a.txt").write_text(ARTICLE, encoding="utf-8")
    tasks = suggest([str(tmp_path / "a.txt")], n=5, model=tiny_model, per_article=5, labels=labels_dir,
                    corpus=corpus_dir)
    # An annotator accepts the pre-annotations; Label Studio exports them as annotations with ids.
    exported = [{"id": i, "data": t["data"], "annotations": [{"id": 100 + i, "result": t["predictions"][0]["result"]}]}
                for i, t in enumerate(tasks, 1)]
    write_tasks(exported, tmp_path / "export.json")
    res = import_labels(tmp_path / "export.json", labels_dir, corpus_dir, name="round")
    assert [r["text"] for r in res.records] == [t["data"]["text"] for t in tasks]
    assert {r["source"] for r in res.records} == {f"{tmp_path / 'a.txt'}#a"}  # one source per article


def test_nothing_readable_or_a_bad_label_folder_is_an_error(tmp_path, tiny_model, labels_dir, corpus_dir):
    import pytest

    with pytest.raises(ValueError, match="no article could be read: .*file not found"):
        suggest([str(tmp_path / "missing.txt")], model=tiny_model, labels=labels_dir, corpus=corpus_dir)
    (tmp_path / "a.txt").write_text(ARTICLE, encoding="utf-8")
    with pytest.raises(ValueError, match="label folder could not be read"):
        suggest([str(tmp_path / "a.txt")], model=tiny_model, labels=tmp_path / "labelz", corpus=corpus_dir)


def test_same_id_in_two_files_is_two_articles(tmp_path, tiny_model, labels_dir, corpus_dir):
    for name in ("a", "b"):
        (tmp_path / f"{name}.jsonl").write_text(json.dumps({"id": 1, "text": ARTICLE.replace("week", name)}) + "\n")
    tasks = suggest([str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")], n=10, model=tiny_model, per_article=1,
                    labels=labels_dir, corpus=corpus_dir)
    assert len(tasks) == 2 and len({t["data"]["source"] for t in tasks}) == 2


INTERFACE = __import__("pathlib").Path(__file__).resolve().parents[2] / "data" / "labels" / "label_studio.xml"


def test_tasks_file_is_valid_for_label_studio(tmp_path, tiny_model, labels_dir, corpus_dir):
    """Every prediction's score is a confidence in [0, 1] and every region fits the shipped interface
    (the checks of Label Studio's import format; see narratives.train.ls_tasks for why not its SDK)."""
    from narratives.train.ls_tasks import task_problems

    (tmp_path / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "b.txt").write_text(ARTICLE.replace("week", "month"), encoding="utf-8")
    write_tasks(suggest([str(tmp_path / "a.txt"), str(tmp_path / "b.txt")], n=10, model=tiny_model, per_article=5,
                        labels=labels_dir, corpus=corpus_dir), tmp_path / "tasks.json")
    tasks = json.loads((tmp_path / "tasks.json").read_text(encoding="utf-8"))
    assert len(tasks) >= 4
    assert task_problems(tasks, INTERFACE.read_text(encoding="utf-8")) == []
    # and the checker does catch what the SDK rejects: the old priority in the score field
    tasks[0]["predictions"][0]["score"] = 1.65
    tasks[1]["predictions"][0]["result"][0]["value"]["choices"] = ["no_such_narrative"]
    problems = task_problems(tasks, INTERFACE.read_text(encoding="utf-8"))
    assert len(problems) == 2 and "[0, 1], got 1.65" in problems[0] and "no_such_narrative" in problems[1]


def test_suggestions_obey_the_label_folders_word_bounds_and_pass_the_checker(tmp_path, tiny_model, labels_dir,
                                                                             corpus_dir):
    """One rule for what a passage may be: suggest proposes only what import accepts and check passes."""
    from narratives.train.check import check_labels

    (labels_dir / "targets.yaml").write_text("words: {min: 15, max: 150}\n", encoding="utf-8")
    heading = "Kosovo precedent back in the spotlight"
    (tmp_path / "a.txt").write_text(f"{heading}\n\n{ARTICLE}", encoding="utf-8")
    tasks = suggest([str(tmp_path / "a.txt")], n=10, model=tiny_model, per_article=10, labels=labels_dir,
                    corpus=corpus_dir, min_words=3)  # a lower --min-words cannot undercut the folder's rule
    assert tasks and all(15 <= len(t["data"]["text"].split()) <= 150 for t in tasks)
    exported = [{"id": i, "data": t["data"], "annotations": [{"id": 100 + i, "result": t["predictions"][0]["result"]}]}
                for i, t in enumerate(tasks, 1)]
    write_tasks(exported, tmp_path / "export.json")
    import_labels(tmp_path / "export.json", labels_dir, corpus_dir, name="week48")
    errors = check_labels(labels_dir, corpus_dir).errors  # the fixture's own short passages predate the rule
    assert [e for e in errors if "week48" in e[0]] == []
    # a heading in an export (span mode, or a hand-made task) is refused by import with the same rule
    exported.append({"id": 99, "data": {"text": heading, "source": "x"}, "annotations": [
        {"id": 199, "result": [{"from_name": "stance", "to_name": "text", "type": "choices",
                                "value": {"choices": ["none"]}}]}]})
    write_tasks(exported, tmp_path / "export2.json")
    import pytest

    from narratives.train.data import LabelError

    with pytest.raises(LabelError, match="passage has 6 words"):
        import_labels(tmp_path / "export2.json", labels_dir, corpus_dir, name="week49")
