import pytest

from narratives.model.taxonomy import TaxonomyError, load_taxonomy

FIXED_IDS = ("genocide_denial", "kosovo_precedent", "slavic_brotherhood", "nato_encirclement", "rs_secession",
             "anti_western")


def test_shipped_taxonomy_has_the_fixed_ids_with_descriptions_and_cues():
    tax = load_taxonomy()
    assert tax.ids[:len(FIXED_IDS)] == FIXED_IDS  # narratives added later (labels add-narrative) come after
    for n in tax.narratives:
        assert len(n.description.split()) >= 20
        assert len(n.cues) >= 3
        assert n.keywords


def test_taxonomy_errors_name_the_file_and_field(tmp_path):
    f = tmp_path / "taxonomy.yaml"
    f.write_text("narratives:\n  - id: Bad Id\n    name: x\n    description: y\n")
    with pytest.raises(TaxonomyError, match=r"taxonomy.yaml: narratives\[0\].id"):
        load_taxonomy(f)
    f.write_text("narratives:\n  - id: a_b\n    name: x\n    description: y\n  - id: a_b\n    name: x\n    description: y\n")
    with pytest.raises(TaxonomyError, match="duplicate id 'a_b'"):
        load_taxonomy(f)
    f.write_text("narratives:\n  - id: a_b\n    name: x\n")
    with pytest.raises(TaxonomyError, match=r"narratives\[0\].description: missing"):
        load_taxonomy(f)
    with pytest.raises(TaxonomyError, match="not found"):
        load_taxonomy(tmp_path / "nope.yaml")
    f.write_text("narratives: [: bad")
    with pytest.raises(TaxonomyError, match="cannot parse"):
        load_taxonomy(f)
