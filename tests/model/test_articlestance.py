"""The article stance model (narratives.model.articlestance): fitted on whole articles, saved as two
deterministic files (JSON and safetensors, no pickle), read back with the same predictions, and refused
with the file named when the two do not fit together."""
from __future__ import annotations

import numpy as np
import pytest

from narratives.model.articlestance import FILES, JSON_FILE, WEIGHTS_FILE, ArticleStance
from narratives.model.artifact import ModelLoadError

TEXTS = [
    "So-called experts claim the genocide never happened; the court's evidence shows otherwise.",
    "Fact check: the claim that NATO encircles Serbia is false, the alliance has no such plan.",
    "Officials said the referendum was illegal, analysts warned of a crisis in the country.",
    "The West humiliates Serbia again; our Slavic brothers in Moscow stand by us forever.",
    "NATO is closing the ring around Serbia, the last free country in the Balkans.",
    "Republika Srpska has every right to leave, the people will decide their own fate.",
    "Зашто Запад мрзи Србију: браћа Руси су уз нас, НАТО нас окружује.",
    "Analysts say the claim about the precedent is propaganda repeated by state media.",
]
PROMOTES = [0, 0, 0, 1, 1, 1, 1, 0]


def _write(model: ArticleStance, path):
    path.mkdir(parents=True, exist_ok=True)
    for name, content in model.files().items():
        (path / name).write_bytes(content)
    return path


def test_it_learns_the_voice_and_reads_back_what_it_wrote(tmp_path):
    m = ArticleStance(min_df=1).fit(TEXTS, PROMOTES)
    p = m.promotes_probability(["Our Slavic brothers stand by Serbia against the West.",
                                "Fact check: analysts say the claim is propaganda."])
    assert p[0] > 0.5 > p[1]
    back = ArticleStance.from_dir(_write(m, tmp_path / "m"))
    np.testing.assert_allclose(back.promotes_probability(TEXTS), m.promotes_probability(TEXTS), atol=1e-6)
    assert back.settings() == m.settings() and back.settings()["promotes"] == 4


def test_both_scripts_of_serbian_share_the_features():
    m = ArticleStance(min_df=1).fit(TEXTS, PROMOTES)
    latin, cyrillic = m.promotes_probability(["Zašto Zapad mrzi Srbiju", "Зашто Запад мрзи Србију"])
    assert latin == pytest.approx(cyrillic)


def test_the_files_are_byte_identical_across_fits():
    a = ArticleStance(min_df=1).fit(TEXTS, PROMOTES).files()
    b = ArticleStance(min_df=1).fit(TEXTS, PROMOTES).files()
    assert sorted(a) == sorted(FILES) and a == b


def test_one_class_is_refused():
    with pytest.raises(ValueError, match="promote and articles that report"):
        ArticleStance(min_df=1).fit(TEXTS[:3], [0, 0, 0])


def test_weights_of_another_vocabulary_are_refused_naming_the_file(tmp_path):
    small = _write(ArticleStance(min_df=1).fit(TEXTS[:4], PROMOTES[:4]), tmp_path / "small")
    big = _write(ArticleStance(min_df=1).fit(TEXTS, PROMOTES), tmp_path / "big")
    (small / WEIGHTS_FILE).write_bytes((big / WEIGHTS_FILE).read_bytes())
    with pytest.raises(ModelLoadError, match=WEIGHTS_FILE):
        ArticleStance.from_dir(small)


def test_an_unreadable_vocabulary_names_the_file(tmp_path):
    d = _write(ArticleStance(min_df=1).fit(TEXTS, PROMOTES), tmp_path / "m")
    (d / JSON_FILE).write_text('{"blocks": 3}', encoding="utf-8")
    with pytest.raises(ModelLoadError, match=JSON_FILE):
        ArticleStance.from_dir(d)
