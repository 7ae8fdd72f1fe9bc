"""Language of a passage, for routing and for the ``lang`` field of outputs: script plus function words.

Distinguishes English (``en``), Russian (``ru``), Serbian in Cyrillic (``sr-Cyrl``) and the Latin-script
languages of the region (``hbs-Latn``: Serbian, Bosnian, Croatian and Montenegrin, which share almost all
function words; telling them apart is not needed to route a passage). ``und`` when there is too little
text to tell. Dependency-free and fast (microseconds per passage).

>>> detect_language("The court said that the ruling was final.")
'en'
>>> detect_language("Суд је рекао да је пресуда коначна."), detect_language("Суд заявил, что решение окончательное.")
('sr-Cyrl', 'ru')
>>> detect_language("Sud je rekao da je presuda konačna.")
'hbs-Latn'
"""
from __future__ import annotations

import re

# The detector's version. Every shipped model was built with version 1, which configs leave implicit (so
# their version hashes stay); bump it whenever detect_language can answer differently (tests/model/
# test_langid.py pins its answers), and models that route, limit members or transliterate by language and
# were built with another version then refuse to load instead of silently changing their scores.
DETECTOR_VERSION = 1
DETECTOR = "narratives.model.langid"


def detector_config() -> dict:
    """What a model config records about the detector (nothing for version 1, see DETECTOR_VERSION).

    >>> detector_config()
    {}
    """
    return {} if DETECTOR_VERSION == 1 else {"language_detector": {"module": DETECTOR, "version": DETECTOR_VERSION}}


def detector_problem(config: dict) -> str | None:
    """Why a model that depends on the detector cannot use this one, or None.

    >>> detector_problem({"language_detector": {"module": DETECTOR, "version": 1}}) is None
    True
    >>> detector_problem({"language_detector": {"module": DETECTOR, "version": 7}})[:39]
    'built with language detector version 7,'
    """
    recorded = config.get("language_detector")
    version = recorded.get("version") if isinstance(recorded, dict) else 1  # absent or a bare name: version 1
    if version == DETECTOR_VERSION:
        return None
    return (f"built with language detector version {version}, but this narratives has version "
            f"{DETECTOR_VERSION}: its routing or transliteration would differ; rebuild or retrain it")

_WORD = re.compile(r"[^\W\d_]+")
_SERBIAN_CYRILLIC = set("ђћџљњјЂЋЏЉЊЈ")
_RUSSIAN_ONLY = set("ыэъёйщяюьЫЭЪЁЙЩЯЮЬ")  # letters the Serbian Cyrillic alphabet does not have
_BCS_LATIN = set("čćšžđČĆŠŽĐ")
_EN = set("the of and is that for was with by from this are has have were which their said its not be "
          "will would an it on at as".split())
_HBS = set("i je u na se da za od su koji koja koje nije kao sa iz će ali ili što sto biti bio bila kako samo "
           "ovo taj koju kojeg nakon prema još jer".split())
_RU = set("и в не на что с по это как для из к о от за его но же так все она они был была было".split())
_NOT_BCS = re.compile("[qwxy]")
_SR = set("и у је на да се за од су који која које није као са из ће али или што".split())


def detect_language(text: str) -> str:
    """One of ``en``, ``ru``, ``sr-Cyrl``, ``hbs-Latn`` or ``und``."""
    words = _WORD.findall(text.lower())
    if not words:
        return "und"
    letters = "".join(words)
    cyrillic = sum("\u0400" <= ch <= "\u04ff" for ch in letters)
    if cyrillic > len(letters) / 2:
        if any(ch in _SERBIAN_CYRILLIC for ch in text):
            return "sr-Cyrl"
        if any(ch in _RUSSIAN_ONLY for ch in text):
            return "ru"
        sr, ru = sum(w in _SR for w in words), sum(w in _RU for w in words)
        # No Russian-only letter: Serbian unless Russian function words outweigh Serbian ones (a heading
        # of two Serbian nouns has neither; Russian text of any length almost always has ы, й, э, ...).
        return "ru" if ru > sr else "sr-Cyrl"
    en, hbs = sum(w in _EN for w in words), sum(w in _HBS for w in words)
    hbs += min(3, sum(ch in _BCS_LATIN for ch in text))  # č ć š ž đ: strong evidence, capped
    # q w x y are not in the BCS alphabet: words with them are English evidence when a headline has no
    # function words (weak: names like Washington occur in BCS text too, hence the cap).
    en += min(2, sum(1 for w in words if _NOT_BCS.search(w)))
    if en == 0 and hbs == 0:
        return "und" if len(words) < 4 else "en"
    return "en" if en >= hbs else "hbs-Latn"
