"""Broken configuration files: the taxonomy YAML and a model's config.json and manifest.json.

Each fault gives an error naming the file and the line or field; a byte-order mark and CRLF line endings
are accepted; a 100 MB file is refused by its size before it is parsed. (Missing ids, bad ids and
duplicate narrative ids in the taxonomy are in ``test_taxonomy.py``; tampered model files in
``test_artifact.py``.)
"""
import json

import pytest

from narratives.model import ModelLoadError, TfidfNarrativeClassifier, load_model
from narratives.model.artifact import file_sha256, model_hash_of, verify_model_dir
from narratives.model.taxonomy import TaxonomyError, load_taxonomy
from narratives.model.textfiles import MAX_CONFIG_BYTES

TAXONOMY = ("# comment\nnarratives:\n  - id: a_b\n    name: A\n    description: Some words.\n"
            "    cues: [one, two]\n  - id: c_d\n    name: C\n    description: More words.\n")


@pytest.mark.parametrize("content, message", [
    (TAXONOMY.encode().replace(b"More", b"M\xf6re"), r"taxonomy.yaml: line 9: not valid UTF-8"),
    (TAXONOMY.encode()[:-20], r"(?s)taxonomy.yaml: cannot parse taxonomy: .*line 9"),  # truncated last line
    (TAXONOMY.replace("cues: [one, two]\n", "cues: [one, two\n").encode()[:-1], r"(?s)cannot parse taxonomy: .*line 6"),
    (TAXONOMY.replace("[one, two]", "7").encode(), r"narratives\[0\].cues: expected a list of strings"),
    (TAXONOMY.replace("name: C", "name: [C]").encode(), r"narratives\[1\].name: missing or empty"),
    (TAXONOMY.replace("    name: A\n", "").encode(), r"narratives\[0\].name: missing or empty"),
    (TAXONOMY.replace("name: A", "name: A\n    name: B").encode(), r"duplicate key 'name' \(line 5\)"),
    (b"narratives: 5\n", r"taxonomy.yaml: expected a mapping with a 'narratives' list"),
    (b"- a list\n", r"taxonomy.yaml: expected a mapping"),
    (b"!!python/object:os.system\n", r"cannot parse taxonomy"),  # safe loader only
])
def test_bad_taxonomy_names_file_and_line_or_field(tmp_path, content, message):
    f = tmp_path / "taxonomy.yaml"
    f.write_bytes(content)
    with pytest.raises(TaxonomyError, match=message):
        load_taxonomy(f)


@pytest.mark.parametrize("encode", [
    lambda t: b"\xef\xbb\xbf" + t.encode(),
    lambda t: t.replace("\n", "\r\n").encode(),
    lambda t: b"\xef\xbb\xbf" + t.replace("\n", "\r\n").encode().rstrip(),
])
def test_taxonomy_with_bom_crlf_or_no_final_newline_is_read(tmp_path, encode):
    f = tmp_path / "taxonomy.yaml"
    f.write_bytes(encode(TAXONOMY))
    tax = load_taxonomy(f)
    assert tax.ids == ("a_b", "c_d") and tax.get("c_d").description == "More words."


def test_a_100mb_taxonomy_is_refused_by_size(tmp_path, write_huge_line):
    f = write_huge_line(tmp_path / "taxonomy.yaml", b"# ", mode="wb")
    with pytest.raises(TaxonomyError, match=f"taxonomy.yaml: file is over {MAX_CONFIG_BYTES:,} bytes"):
        load_taxonomy(f)


@pytest.fixture()
def model(tmp_path):
    d = tmp_path / "m"
    TfidfNarrativeClassifier(labels=["a", "b"], min_df=1, cv_folds=0).fit(
        ["red apples here", "green pears there", "blue sky above"], [["a"], ["b"], []],
        ["promotes", "reports", "none"]).save_pretrained(d)
    return d


def _replace(d, name, raw: bytes) -> None:
    """Write a file of a model directory and re-sign the manifest, so only the content is at fault."""
    (d / name).write_bytes(raw)
    if name != "manifest.json":
        _resign(d, name)


def _resign(d, name) -> None:
    man = json.loads((d / "manifest.json").read_text())
    man["files"][name] = file_sha256(d / name)
    man["model_hash"] = model_hash_of(man["files"])
    (d / "manifest.json").write_text(json.dumps(man))


def _config(d) -> dict:
    return json.loads((d / "config.json").read_text())


def _dumps(cfg) -> bytes:
    return json.dumps(cfg, indent=2).encode()


CONFIG_FAULTS = {
    "non-utf8": (lambda c: _dumps(c).replace(b'"labels"', b'"l\xe4b"'), r"config.json: unreadable \(line \d+: not valid UTF-8"),
    "truncated": (lambda c: _dumps(c)[:-30], r"config.json: unreadable \(.* line \d+ column \d+"),
    "not-an-object": (lambda c: _dumps([c]), r"config.json: expected a JSON object, got list"),
    "labels-not-a-list": (lambda c: _dumps({**c, "labels": "a"}), r"config.json: field 'labels' must be a list"),
    "duplicate-labels": (lambda c: _dumps({**c, "labels": ["a", "a"]}), r"field 'labels' must be a list of distinct"),
    "duplicate-key": (lambda c: _dumps(c)[:-2] + b', "kind": "routed"}', r"config.json: unreadable \(duplicate key 'kind'\)"),
    "missing-format": (lambda c: _dumps({k: v for k, v in c.items() if k != "format"}), r"unknown model format None"),
    "deep-nesting": (lambda c: b"[" * 100_000, r"config.json: unreadable \(nested too deeply\)"),
    # Past verify_model_dir: the loader names the missing or mistyped field.
    "missing-thresholds": (lambda c: _dumps({k: v for k, v in c.items() if k != "thresholds"}), r"KeyError\('thresholds'\)"),
    "wrong-type-params": (lambda c: _dumps({**c, "params": [1]}), r"inconsistent \(TypeError"),
}


@pytest.mark.parametrize("fault", CONFIG_FAULTS)
def test_bad_config_json_is_refused_naming_the_file(model, fault):
    change, message = CONFIG_FAULTS[fault]
    _replace(model, "config.json", change(_config(model)))
    with pytest.raises(ModelLoadError, match=message):
        TfidfNarrativeClassifier.from_pretrained(model)


@pytest.mark.parametrize("name", ["config.json", "manifest.json"])
@pytest.mark.parametrize("change", ["bom", "crlf"])
def test_config_and_manifest_with_bom_or_crlf_are_read(model, name, change):
    raw = (model / name).read_bytes()
    _replace(model, name, b"\xef\xbb\xbf" + raw if change == "bom" else raw.replace(b"\n", b"\r\n"))
    clf = TfidfNarrativeClassifier.from_pretrained(model)
    assert clf.labels_ == ["a", "b"] and clf.predict(["red apples"])
    assert load_model(model).labels_ == ["a", "b"]  # the registry's pre-read of the kind accepts them too


@pytest.mark.parametrize("fault, message", [
    (lambda raw: raw.replace(b'"files"', b'"f\xefles"'), r"manifest.json: unreadable manifest \(line \d+: not valid UTF-8"),
    (lambda raw: raw[:-10], r"manifest.json: unreadable manifest \(.*column"),
    (lambda raw: b"[]", r"manifest.json: unreadable manifest \(TypeError"),
    (lambda raw: b"{}", r"manifest.json: unreadable manifest \(missing field 'files'\)"),
    (lambda raw: raw.rstrip()[:-1] + b', "files": {}}', r"unreadable manifest \(duplicate key 'files'\)"),
])
def test_bad_manifest_is_refused_naming_the_file(model, fault, message):
    _replace(model, "manifest.json", fault((model / "manifest.json").read_bytes()))
    with pytest.raises(ModelLoadError, match=message):
        verify_model_dir(model)


@pytest.mark.parametrize("name", ["config.json", "manifest.json"])
def test_a_100mb_config_or_manifest_is_refused_by_size(model, name, write_huge_line, peak_memory):
    write_huge_line(model / name, b'{"x": "', b'"}\n', mode="wb")
    if name == "config.json":
        _resign(model, name)  # a correctly signed 100 MB config.json: refused by size, not by its sum
    with peak_memory() as mem:
        with pytest.raises(ModelLoadError, match=f"{name}: unreadable.*file is over {MAX_CONFIG_BYTES:,} bytes"):
            verify_model_dir(model)
        with pytest.raises(ModelLoadError, match=f"{name}: unreadable.*file is over {MAX_CONFIG_BYTES:,} bytes"):
            load_model(model)
    assert mem["peak"] < 8 * MAX_CONFIG_BYTES
