"""Real-page references and their cache: validation errors name file and line; a partial cache is refused
with every missing id and url; put and fill store only the labelled text."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from narratives.serve.cli import main
from narratives.train.realcache import CacheError, cached_texts, fill, missing_pages, put
from narratives.train.realpages import FILE_SPLITS, ReferenceError, check_references, load_references, split_for

TEXT = "Headline about a gas contract\n\nThe ministry said the contract runs for three more years."


def test_valid_file_loads(rp):
    refs = [rp.reference(rp.url_in("dev", "a"), TEXT), rp.reference(rp.url_in("test", "b"), TEXT,
                                                                     {"anti_western": "reports"}, lang="sr-Latn")]
    rp.write_refs(rp.real / "pages_x.jsonl", refs)
    pages = load_references(rp.real)
    assert [p.page.id for p in pages] == [r["id"] for r in refs]
    assert pages[1].page.stance == "reports" and pages[0].page.stance == "none"
    assert pages[1].where.endswith("pages_x.jsonl:2")


@pytest.mark.parametrize("change, expected", [
    ({"labels": {"made_up": "promotes"}}, "unknown narrative 'made_up'"),
    ({"labels": {"anti_western": "none"}}, "field labels.anti_western"),
    ({"lang": "de"}, "field lang"),
    ({"split": "holdout99"}, "field split: should be one of 'dev', 'test', 'train'"),
    ({"split": 3}, "field split"),
    ({"outlet_kind": "blog"}, "field outlet_kind"),
    ({"date": "2024-13-01"}, "field date"),
    ({"sha256": "abc"}, "field sha256"),
    ({"chars": "12"}, "field chars"),
    ({"hard_negative": "yes"}, "field hard_negative"),
    ({"extra_field": 1}, "field extra_field"),
    ({"rationale": "word " * 26}, "at most 25"),
    ({"hard_negative": True, "labels": {"anti_western": "promotes"}}, "a hard negative carries no narrative"),
    ({"url": "https://euvsdisinfo.eu/report/x"}, "kept out of the benchmark"),
])
def test_schema_errors_name_file_line_and_field(rp, change, expected):
    good = rp.reference(rp.url_in("dev", "ok"), TEXT)
    bad = {**rp.reference(rp.url_in("dev", "bad"), TEXT), **change}
    f = rp.write_refs(rp.real / "pages.jsonl", [good, bad])
    pages, problems = check_references(rp.real)
    assert [p.page.id for p in pages] == [good["id"]]
    assert any(where == f"{f}:2" and expected in msg for where, msg in problems), problems
    with pytest.raises(ReferenceError, match=expected):
        load_references(rp.real)


def test_split_and_id_rules(rp):
    url = rp.url_in("dev", "rule")
    wrong_split = rp.reference(url, TEXT, split="test")
    wrong_id = rp.reference(rp.url_in("dev", "rule2"), TEXT, id="example-00000000")
    f = rp.write_refs(rp.real / "p.jsonl", [wrong_split, wrong_id])
    _, problems = check_references(rp.real)
    assert (f"{f}:1", "split is 'test', but the split rule gives 'dev' for this url") in problems
    assert any(w == f"{f}:2" and "must end with -" in m for w, m in problems)
    assert split_for(url) == "dev"


def test_training_pool_lines_live_only_in_train_files_and_are_never_scored(rp):
    from narratives.train.realeval import select

    pool = rp.reference(rp.url_in("test", "pool"), TEXT, split="train")  # any url: the pool has no split rule
    bench = rp.reference(rp.url_in("dev", "bench"), TEXT)
    stray = rp.reference(rp.url_in("dev", "stray"), TEXT, split="train")
    f_pool = rp.write_refs(rp.real / "train_a.jsonl", [pool, rp.reference(rp.url_in("dev", "p2"), TEXT)])
    f_bench = rp.write_refs(rp.real / "pages.jsonl", [bench, stray])
    pages, problems = check_references(rp.real)
    assert sorted(w for w, _ in problems) == [f"{f_bench}:2", f"{f_pool}:2"]
    assert "'train' belongs in a train_*.jsonl file" in dict(problems)[f"{f_bench}:2"]
    assert "every line there is 'train'" in dict(problems)[f"{f_pool}:2"]
    assert [r.page.id for r in select(pages, "all")] == [bench["id"]]
    assert [r.page.id for r in select(pages, "test")] == []


@pytest.mark.parametrize("split,where", [("check", "the check set"), ("holdout", "the hold-out set"),
                                         ("holdout2", "the second hold-out set"), ("holdout3", "the third hold-out set"),
                                         ("holdout4", "the fourth hold-out set"),
                                         ("holdout5", "the fifth hold-out set"),
                                         ("holdout6", "the sixth hold-out set"),
                                         ("holdout7", "the seventh hold-out set"),
                                         ("holdout8", "the eighth hold-out set"),
                                         ("holdout9", "the ninth hold-out set"),
                                         ("holdout10", "the tenth hold-out set"),
                                         ("holdout11", "the eleventh hold-out set"),
                                         ("holdout12", "the twelfth hold-out set")])
def test_held_out_lines_live_only_in_their_files_are_scored_alone_and_never_fitted_on(rp, tiny_model, split, where):
    from narratives.train.decidercv import real_articles
    from narratives.train.realeval import select

    held = rp.reference(rp.url_in("test", split), TEXT, split=split)  # any url: no split rule
    bench = rp.reference(rp.url_in("dev", "bench"), TEXT)
    stray = rp.reference(rp.url_in("dev", "stray"), TEXT, split=split)
    f_held = rp.write_refs(rp.real / f"{split}_a.jsonl", [held, rp.reference(rp.url_in("dev", "c2"), TEXT)])
    f_bench = rp.write_refs(rp.real / "pages.jsonl", [bench, stray])
    pages, problems = check_references(rp.real)
    assert sorted(w for w, _ in problems) == sorted([f"{f_bench}:2", f"{f_held}:2"])
    assert f"{split!r} belongs in a {split}_*.jsonl file" in dict(problems)[f"{f_bench}:2"]
    assert f"every line there is {split!r}" in dict(problems)[f"{f_held}:2"]
    rp.write_refs(rp.real / "pages.jsonl", [bench])
    rp.write_refs(rp.real / f"{split}_a.jsonl", [held])
    pages = load_references(rp.real)
    assert [r.page.id for r in select(pages, split)] == [held["id"]]
    assert [r.page.id for r in select(pages, "all")] == [bench["id"]]  # the two halves only
    with pytest.raises(ValueError, match=f"never fitted on the {split!r} pages"):
        real_articles(rp.real, split)
    rp.cache(held, TEXT)
    rp.cache(bench, TEXT)
    r = CliRunner().invoke(main, ["real", "evaluate", str(tiny_model), "--real", str(rp.real), "--split", split,
                                  "--no-errors"])
    assert r.exit_code == 0, r.output
    assert f"real pages, {where}: 1 pages" in r.output
    r = CliRunner().invoke(main, ["real", "check", "--real", str(rp.real)])
    assert r.exit_code == 0 and json.loads(r.output)[f"{split}_set"]["pages"] == 1


def test_evaluate_offers_every_split_that_select_takes():
    from narratives.serve.cli_real import real_evaluate
    from narratives.train.realeval import SPLITS

    choice = next(p for p in real_evaluate.params if p.name == "splits").type
    assert list(choice.choices) == list(SPLITS)


def test_check_offers_every_held_out_set():
    from narratives.serve.cli_real import HELD_OUT_SPLITS
    from narratives.train.realpages import HELD_OUT

    assert HELD_OUT_SPLITS == HELD_OUT


def test_check_by_split_plans_only_the_pages_of_those_splits(rp, tmp_path):
    refs = [rp.reference(rp.url_in("dev", "s0"), f"{TEXT} 0"), rp.reference(rp.url_in("test", "s1"), f"{TEXT} 1")]
    pool = [rp.reference(rp.url_in("dev", "s2"), f"{TEXT} 2", split="train")]
    rp.write_refs(rp.real / "p.jsonl", refs)
    rp.write_refs(rp.real / "train_x.jsonl", pool)
    plan = tmp_path / "plan.jsonl"
    r = CliRunner().invoke(main, ["real", "check", "--real", str(rp.real), "--split", "train"])
    assert r.exit_code == 2 and "add --cache" in r.output
    r = CliRunner().invoke(main, ["real", "check", "--cache", "--real", str(rp.real), "--split", "train",
                                  "--plan", str(plan)])
    assert r.exit_code == 1 and "0 of 1 page(s) cached" in r.output
    assert [p["id"] for line in plan.read_text(encoding="utf-8").splitlines()
            for p in json.loads(line)["pages"]] == [pool[0]["id"]]
    rp.cache(pool[0], f"{TEXT} 2")
    r = CliRunner().invoke(main, ["real", "check", "--cache", "--real", str(rp.real), "--split", "train"])
    assert r.exit_code == 0 and "1 of 1 page(s) cached" in r.output  # the halves' missing pages are not asked for


@pytest.mark.parametrize("split", ["dev", "test"] + [split for split, _, _ in FILE_SPLITS.values()])
def test_a_reference_line_may_carry_every_split_a_file_gives(rp, split):
    from narratives.train.realpages import Page

    url = rp.url_in("test" if split == "test" else "dev", "any")  # the halves follow the url rule
    assert Page.model_validate(rp.reference(url, TEXT, split=split)).split == split


def test_duplicates_across_files_and_bad_lines(rp):
    a = rp.reference(rp.url_in("dev", "d"), TEXT)
    same_url = rp.reference(a["url"], TEXT, outlet="Other")
    f1 = rp.write_refs(rp.real / "a.jsonl", [a])
    f2 = rp.write_refs(rp.real / "b.jsonl", [a, same_url])
    with open(f2, "ab") as fh:
        fh.write(b'{"id": "x", "id": "y"}\n[1, 2]\nnot json\n\xff\xfe\n')
    _, problems = check_references(rp.real)
    msgs = {w: m for w, m in problems}
    assert msgs[f"{f2}:1"] == f"duplicate id {a['id']!r} (first at {f1}:1)"
    assert msgs[f"{f2}:2"].startswith("duplicate url")
    assert "duplicate key 'id'" in msgs[f"{f2}:3"]
    assert "expected a JSON object" in msgs[f"{f2}:4"]
    assert "malformed JSON" in msgs[f"{f2}:5"]  # the wording of the one JSONL reader (model.textfiles)
    assert "not valid UTF-8" in msgs[f"{f2}:6"]


def test_partial_cache_is_refused_naming_every_missing_page(rp):
    refs = [rp.reference(rp.url_in("dev", f"m{i}"), TEXT + str(i)) for i in range(3)]
    rp.write_refs(rp.real / "p.jsonl", refs)
    rp.cache(refs[0], TEXT + "0")
    rp.cache(refs[2], TEXT + "2 edited")
    pages = load_references(rp.real)
    with pytest.raises(CacheError) as exc:
        cached_texts(pages)
    msg = str(exc.value)
    assert f"{refs[1]['id']}  {refs[1]['url']}  (not cached)" in msg
    assert refs[2]["id"] in msg and "differs from the one labelled" in msg
    assert refs[0]["id"] not in msg
    assert [r.page.id for r, _ in missing_pages(pages)] == [refs[1]["id"], refs[2]["id"]]


def test_put_checks_the_reference_and_cli_put_reads_stdin(rp, tmp_path):
    ref = rp.reference(rp.url_in("test", "p"), TEXT)
    rp.write_refs(rp.real / "p.jsonl", [ref])
    page = load_references(rp.real)[0]
    with pytest.raises(ValueError, match="does not match the reference"):
        put(page, TEXT + " changed")
    assert not (rp.cache_dir / f"{ref['id']}.txt").exists()
    r = CliRunner().invoke(main, ["real", "put", ref["id"], "-", "--real", str(rp.real)], input=TEXT.encode())
    assert r.exit_code == 0, r.output
    assert cached_texts([page]) == {ref["id"]: TEXT}
    r = CliRunner().invoke(main, ["real", "put", "nope-12345678", "-", "--real", str(rp.real)], input=b"x")
    assert r.exit_code == 1 and "no reference with id 'nope-12345678'" in r.output


def test_put_reads_a_json_string_literal_with_its_escapes(rp):
    text = r"Naslov\u00a0\u2014 prvi red\nDrugi red sa \"navodnicima\""  # NBSP and quotes, as a JSON answer shows them
    decoded = json.loads(f'"{text}"')
    ref = rp.reference(rp.url_in("test", "js"), decoded)
    rp.write_refs(rp.real / "p.jsonl", [ref])
    args = ["real", "put", ref["id"], "-", "--real", str(rp.real), "--json-string"]
    r = CliRunner().invoke(main, args, input=f'"{text}"\n'.encode())
    assert r.exit_code == 0, r.output
    assert cached_texts(load_references(rp.real)) == {ref["id"]: decoded}
    r = CliRunner().invoke(main, args, input=b'{"excerpt": "x"}')
    assert r.exit_code == 1 and "holds JSON dict, not a string literal" in r.output
    r = CliRunner().invoke(main, args, input=b'"unterminated')
    assert r.exit_code == 1 and "not a JSON string literal" in r.output
    r = CliRunner().invoke(main, args[:-1], input=b"\xff bad bytes")  # from standard input, which has no file name
    assert r.exit_code == 1 and "<stdin>: not valid UTF-8" in r.output


def test_check_by_query_groups_the_missing_pages_under_their_query(rp):
    refs = [rp.reference(rp.url_in("dev", f"q{i}"), f"{TEXT} {i}") for i in range(3)]
    refs[0]["query"] = refs[1]["query"] = "one query"
    refs[2]["query"] = "another query"
    rp.write_refs(rp.real / "p.jsonl", refs)
    rp.cache(refs[1], f"{TEXT} 1")
    r = CliRunner().invoke(main, ["real", "check", "--cache", "--by-query", "--real", str(rp.real)])
    assert r.exit_code == 1
    lines = r.output.splitlines()
    i, j = lines.index("query: one query"), lines.index("query: another query")
    assert lines[i + 1] == f"  missing: {refs[0]['id']}  {refs[0]['url']}  (not cached)"
    assert lines[j + 1] == f"  missing: {refs[2]['id']}  {refs[2]['url']}  (not cached)"
    assert refs[1]["id"] not in r.output
    assert "1 of 3 page(s) cached" in r.output and "2 missing under 2 queries" in r.output


def test_check_writes_a_refill_plan_and_put_batch_stores_what_it_can(rp, tmp_path):
    refs = [rp.reference(rp.url_in("dev", f"b{i}"), f"{TEXT} {i}\nlast") for i in range(4)]
    for ref, q in zip(refs, ["one query", "one query", "other", "one query"]):
        ref["query"] = q
    rp.write_refs(rp.real / "p.jsonl", refs)
    plan = tmp_path / "plan.jsonl"
    r = CliRunner().invoke(main, ["real", "check", "--real", str(rp.real), "--plan", str(plan)])
    assert r.exit_code == 2 and "add --cache" in r.output and not plan.exists()
    r = CliRunner().invoke(main, ["real", "check", "--cache", "--real", str(rp.real), "--plan", str(plan)])
    assert r.exit_code == 1 and "4 page(s) under 2 queries" in r.output
    lines = [json.loads(line) for line in plan.read_text(encoding="utf-8").splitlines()]
    assert [x["query"] for x in lines] == ["one query", "other"]  # most pages first
    assert [p["id"] for p in lines[0]["pages"]] == [refs[0]["id"], refs[1]["id"], refs[3]["id"]]
    assert lines[1]["pages"] == [{"id": refs[2]["id"], "url": refs[2]["url"]}]

    batch = {refs[0]["id"]: f"{TEXT} 0\nlast",               # as labelled
             refs[1]["id"]: f"{TEXT} 1\nlast\n\n",           # trailing newlines the labelled text lacks
             refs[2]["id"]: f"{TEXT} 2\nlast\nRead more",     # a line the tool appended
             refs[3]["id"]: f"{TEXT} 3\nLAST",               # another text: never stored
             "nope-12345678": "x"}
    (tmp_path / "b.json").write_text(json.dumps(batch), encoding="utf-8")
    (tmp_path / "bad.json").write_text("[1, 2]", encoding="utf-8")
    r = CliRunner().invoke(main, ["real", "put-batch", str(tmp_path / "bad.json"), str(tmp_path / "b.json"),
                                  "--real", str(rp.real)])
    assert r.exit_code == 1
    assert "bad.json: holds JSON list, not an object" in r.output
    assert f"stored {refs[1]['id']} (trailing newlines dropped)" in r.output
    assert f"stored {refs[2]['id']} (last line dropped)" in r.output
    assert f"{refs[3]['id']}: not the labelled text" in r.output and "nope-12345678: no reference" in r.output
    assert "3 stored, 3 not stored" in r.output
    pages = load_references(rp.real)
    assert cached_texts(pages[:3]) == {ref["id"]: f"{TEXT} {i}\nlast" for i, ref in enumerate(refs[:3])}
    with pytest.raises(CacheError, match=refs[3]["id"]):
        cached_texts(pages)


def test_fill_stores_only_the_labelled_text_and_reports_the_rest(rp):
    texts = {rp.url_in("dev", f"f{i}"): f"{TEXT} {i}" for i in range(3)}
    refs = [rp.reference(u, t) for u, t in texts.items()]
    rp.write_refs(rp.real / "p.jsonl", refs)
    urls = list(texts)

    def fetch(url):
        if url == urls[0]:
            return texts[url]
        if url == urls[1]:
            return "the page changed since"
        raise OSError("network unreachable")

    res = fill(load_references(rp.real), fetch=fetch)
    assert res.stored == [refs[0]["id"]]
    failed = {pid: why for pid, _, why in res.failed}
    assert "not the labelled one" in failed[refs[1]["id"]] and "network unreachable" in failed[refs[2]["id"]]
    assert fill(load_references(rp.real), fetch=fetch).already == [refs[0]["id"]]


def test_cli_fill_with_a_closed_network_lists_every_page(rp):
    refs = [rp.reference("http://127.0.0.1:9/unreachable/" + str(i), TEXT) for i in range(2)]
    rp.write_refs(rp.real / "p.jsonl", refs)
    r = CliRunner().invoke(main, ["real", "fill", "--real", str(rp.real), "--timeout", "2"])
    assert r.exit_code == 1
    for ref in refs:
        assert f"not cached: {ref['id']}  {ref['url']}" in r.output
    r = CliRunner().invoke(main, ["real", "check", "--real", str(rp.real), "--cache"])
    assert r.exit_code == 1 and "0 of 2 page(s) cached" in r.output
    assert '"pages": 2' in r.output


def test_labels_check_validates_real_references_without_a_cache(rp, labels_dir, corpus_dir, monkeypatch):
    bad = rp.reference(rp.url_in("dev", "lc"), TEXT, lang="xx")
    f = rp.write_refs(labels_dir.parent / "real" / "pages.jsonl", [bad])
    r = CliRunner().invoke(main, ["labels", "check", "--labels", str(labels_dir), "--corpus", str(corpus_dir),
                                  "--no-targets"])
    assert r.exit_code == 1 and f"{f}:1: field lang" in r.output
    rp.write_refs(f, [rp.reference(rp.url_in("dev", "lc"), TEXT)])
    rp.write_refs(labels_dir.parent / "real" / "holdout_a.jsonl", [rp.reference(rp.url_in("dev", "h"), TEXT, split="holdout")])
    r = CliRunner().invoke(main, ["labels", "check", "--labels", str(labels_dir), "--corpus", str(corpus_dir),
                                  "--no-targets"])
    assert "2 real-page references" in r.output and "field lang" not in r.output
    assert ("(1 benchmark, 0 check set, 1 hold-out set, 0 second hold-out set, 0 third hold-out set, "
            "0 fourth hold-out set, 0 fifth hold-out set, 0 sixth hold-out set, 0 seventh hold-out set, 0 eighth hold-out set, "
            "0 ninth hold-out set, 0 tenth hold-out set, 0 eleventh hold-out set, 0 twelfth hold-out set, "
            "0 training pool)") in r.output


def test_shipped_references_are_valid():
    """The committed data/real files pass the checker (no cache needed)."""
    pages, problems = check_references()
    assert problems == []
    assert len({p.page.url for p in pages}) == len(pages)
