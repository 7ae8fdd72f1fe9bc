import json

from click.testing import CliRunner

from narratives.serve.cli import main
from narratives.train.data import load_passages


def _strip_splits(labels_dir):
    for f in [labels_dir / "team.jsonl", labels_dir / "seed_spans.jsonl"]:
        rows = [json.loads(line) for line in open(f)]
        for r in rows:
            r.pop("split")
        f.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_split_assigns_by_source_and_freezes_test(labels_dir, corpus_dir):
    _strip_splits(labels_dir)
    r = CliRunner().invoke(main, ["labels", "split", "--labels", str(labels_dir), "--corpus", str(corpus_dir)])
    assert r.exit_code == 0, r.output
    ps = load_passages(labels_dir, corpus_dir)
    by_source = {}
    for p in ps:
        by_source.setdefault(p.source, set()).add(p.split)
    assert all(len(v) == 1 for v in by_source.values())
    assert {"train", "test"} <= {p.split for p in ps}
    lock = json.loads((labels_dir / "test_split.lock").read_text())
    test_before = sorted(p.id for p in ps if p.split == "test")
    assert lock["n"] == len(test_before)

    # New labels later: they go to train or dev only, and the test split stays as frozen.
    with open(labels_dir / "new.jsonl", "w") as fh:
        for i in range(12):
            fh.write(json.dumps({"id": f"N-{i}", "text": f"A fresh passage number {i} about the Drina bridge.",
                                 "lang": "en", "narratives": [], "stance": "none", "source": f"new-{i % 4}"}) + "\n")
    r = CliRunner().invoke(main, ["labels", "split", "--labels", str(labels_dir), "--corpus", str(corpus_dir)])
    assert r.exit_code == 0, r.output
    ps = load_passages(labels_dir, corpus_dir)
    assert sorted(p.id for p in ps if p.split == "test") == test_before
    assert {p.split for p in ps if p.id.startswith("N-")} <= {"train", "dev"}
