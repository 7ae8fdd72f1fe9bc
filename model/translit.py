"""Serbian Cyrillic to Latin script (Gaj's alphabet): one letter to one letter or digraph, deterministic.

Serbian is written in both scripts, and the Latin form is what Bosnian and Croatian use too, so a
model that sees Serbian Cyrillic passages transliterated shares everything it learns from the Latin-script
passages of the region. Only the thirty letters of the Serbian Cyrillic alphabet are mapped; Russian-only
letters (ы, э, я, ю, щ ...) are left untouched, so apply :func:`transliterate` to Serbian text only
(:func:`latinize_serbian` does that with the language detector).

>>> transliterate("Косово је било преседан за Крим.")
'Kosovo je bilo presedan za Krim.'
>>> transliterate("ЉУБАВ, Љубав и Џон")
'LJUBAV, Ljubav i Džon'
"""
from __future__ import annotations

from collections.abc import Sequence

_LOWER = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ђ": "đ", "е": "e", "ж": "ž", "з": "z", "и": "i",
    "ј": "j", "к": "k", "л": "l", "љ": "lj", "м": "m", "н": "n", "њ": "nj", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "ћ": "ć", "у": "u", "ф": "f", "х": "h", "ц": "c", "ч": "č", "џ": "dž", "ш": "š",
}
_DIGRAPHS = {"Љ": ("Lj", "LJ"), "Њ": ("Nj", "NJ"), "Џ": ("Dž", "DŽ")}
_TABLE = {**_LOWER, **{k.upper(): v.upper() for k, v in _LOWER.items() if k.upper() not in _DIGRAPHS}}


def transliterate(text: str) -> str:
    """Serbian Cyrillic letters to Latin; everything else unchanged. An upper-case Љ, Њ or Џ becomes
    ``LJ``/``NJ``/``DŽ`` inside an all-capitals word and ``Lj``/``Nj``/``Dž`` otherwise.

    >>> transliterate("Ђорђе Његош, ЊЕГОШ; Москва")
    'Đorđe Njegoš, NJEGOŠ; Moskva'
    """
    if not any("\u0400" <= ch <= "\u04ff" for ch in text):
        return text
    out = []
    for i, ch in enumerate(text):
        if ch in _DIGRAPHS:
            nxt = text[i + 1] if i + 1 < len(text) else ""
            prev = text[i - 1] if i else ""
            caps = (nxt.isalpha() and nxt.isupper()) or (not (nxt.isalpha() and nxt.islower()) and prev.isupper())
            out.append(_DIGRAPHS[ch][1 if caps else 0])
        else:
            out.append(_TABLE.get(ch, ch))
    return "".join(out)


def latinize_serbian(texts: Sequence[str], langs: Sequence[str] | None = None) -> list[str]:
    """Transliterate the texts the language detector calls Serbian Cyrillic (``sr-Cyrl``); Russian and
    every other text pass unchanged. ``langs`` are the texts' languages when already detected.

    >>> latinize_serbian(["Суд је рекао да је пресуда коначна.", "Суд заявил, что решение окончательное."])
    ['Sud je rekao da je presuda konačna.', 'Суд заявил, что решение окончательное.']
    """
    from .langid import detect_language, route_language

    langs = [detect_language(t) for t in texts] if langs is None else list(langs)
    return [transliterate(t) if route_language(lang) == "sr-Cyrl" else t for t, lang in zip(texts, langs)]
