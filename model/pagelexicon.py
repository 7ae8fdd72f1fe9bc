"""The page's words: whether a whole page carries each narrative, read from its text's character n-grams (TF-IDF,
one balanced logistic regression per narrative), fitted on the real training pool's pages.

The passage scores the article decider reads come from one frozen multilingual encoder, which ranks real pages
in Russian and Serbian less well than English ones. Real pages carry a narrative in the vocabulary of their
outlets and languages (the words of a Russian agency relaying Moscow, of a Serbian tabloid on the West), which a
model of the page's own n-grams, fitted on labelled real pages, learns directly. Out of sample it ranks pages
about as well as the encoder's heads, and differently: the two together ranked the 375 pages of the dev half and
two spent held-out sets better than either (mean average precision 0.848 against 0.806 for the heads alone; see
the README, "The page lexicon"). Its logit is one more presence feature of the decider, ``page_lexicon``
(:mod:`narratives.serve.decider`), whose weight the decider learns. Serbian Cyrillic is transliterated first,
as the article stance model does (:mod:`narratives.model.articlestance`), so both scripts share n-grams.

Saved beside a model's other weights as two hashed files (:data:`FILES`): the vocabulary and settings in JSON,
the idf vector and weights in safetensors; no pickle.

>>> texts = ["the West plots against the Serbs", "brothers Russia and Serbia forever", "the match ended 2:1",
...          "the West again plots colour revolutions", "the weather was mild", "Slavic brothers stand together"]
>>> m = PageLexicon(["anti_western", "slavic_brotherhood"], min_df=1).fit(
...     texts, [{"anti_western"}, {"slavic_brotherhood"}, set(), {"anti_western"}, set(), {"slavic_brotherhood"}])
>>> z = m.logits(["colour revolutions: the West plots", "the match was mild"])
>>> bool(z[0, 0] > z[1, 0])
True
"""
from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from .artifact import ModelLoadError
from .ngrams import NgramBlock
from .translit import transliterate

JSON_FILE = "page_lexicon.json"
WEIGHTS_FILE = "page_lexicon.safetensors"
FILES = (JSON_FILE, WEIGHTS_FILE)
CLIP = 8.0
LEXICON = "lexicon"  # the key of the decider's page part that describes this model


def reads_page_lexicon(decider: dict | None) -> bool:
    """Whether an article decider (``config.json``'s ``article_decider``) reads this model (its page part has a
    ``lexicon``).

    >>> reads_page_lexicon({"page": {"lexicon": {"files": []}}}), reads_page_lexicon({"page": None}), reads_page_lexicon(None)
    (True, False, False)
    """
    page = decider.get("page") if decider else None
    return isinstance(page, dict) and isinstance(page.get(LEXICON), dict)


class PageLexicon:
    """Per-narrative presence from a page's character n-grams (scikit-learn estimator style: learned state ends
    in ``_``). ``C`` 16 and the (2, 5) character n-grams were chosen on the dev half and two spent held-out sets
    (``benchmarks/page_lexicon.py``), never on a set read for a choice after them."""

    def __init__(self, labels: Sequence[str], C: float = 16.0, min_df: int = 2, max_features: int = 100_000):
        self.labels = labels
        self.C = C
        self.min_df = min_df
        self.max_features = max_features

    def fit(self, texts: Sequence[str], carried: Sequence[Collection[str]]) -> PageLexicon:
        """Fit on whole page texts, each with the narratives it carries (an empty set for a page without one).

        >>> PageLexicon(["a"]).fit(["x"], [set(), set()])
        Traceback (most recent call last):
        ...
        ValueError: 1 texts but 2 label sets
        """
        if len(texts) != len(carried):
            raise ValueError(f"{len(texts)} texts but {len(carried)} label sets")
        from .baseline import _fit_block
        from .heads import logistic_head

        y = np.array([[lab in c for lab in self.labels] for c in carried], dtype=np.int64).reshape(len(texts), -1)
        lonely = [lab for j, lab in enumerate(self.labels) if y[:, j].sum() in (0, len(y))]
        if lonely:
            raise ValueError(f"the page lexicon needs pages that carry each narrative and pages that do not; "
                             f"{', '.join(lonely)} has one kind only")
        prepared = [transliterate(t) for t in texts]
        block = _fit_block("char_wb", (2, 5), prepared, self.min_df, self.max_features)
        x = block.transform(prepared)
        heads = [logistic_head(x, y[:, j], self.C, solver="liblinear", max_iter=2000, random_state=0)
                 for j in range(len(self.labels))]
        self.labels_ = list(self.labels)
        self.coef_ = np.stack([w for w, _ in heads], axis=1)  # (terms, narratives)
        self.intercept_ = np.array([b for _, b in heads])
        self.block_ = NgramBlock(block.counter.analyzer, block.counter.ngram_range, block.terms, block.idf)
        self.n_pages_, self.carrying_ = len(texts), {lab: int(y[:, j].sum()) for j, lab in enumerate(self.labels_)}
        return self

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Each page's logit for each narrative (rows: texts; columns: :attr:`labels_`), clipped to +-8; a text that
        holds none of the model's n-grams gets the intercepts alone (what the model says of a page it knows nothing
        of). scikit-learn's features, computed without importing it (:mod:`narratives.model.ngrams`)."""
        z, _ = self.block_.dot([transliterate(t) for t in texts], self.coef_)
        return np.clip(z.reshape(len(texts), len(self.labels_)) + self.intercept_, -CLIP, CLIP)

    def settings(self) -> dict:
        """What the decider's config records of this model (its files hold the rest)."""
        return {"C": self.C, "min_df": self.min_df, "max_features": self.max_features, "labels": self.labels_,
                "n_pages": self.n_pages_, "carrying_each": self.carrying_, "files": list(FILES)}

    def files(self) -> dict[str, bytes]:
        """The two files, by name, as bytes (deterministic: sorted keys, no safetensors metadata)."""
        from safetensors.numpy import save

        b = self.block_
        meta = {"block": {"analyzer": b.analyzer, "ngram_range": list(b.ngram_range), "terms": b.terms},
                "settings": self.settings()}
        tensors = {"idf": b.idf.astype(np.float32), "coef": self.coef_.astype(np.float32),
                   "intercept": self.intercept_.astype(np.float32)}
        return {JSON_FILE: (json.dumps(meta, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"),
                WEIGHTS_FILE: save(tensors)}

    @classmethod
    def from_dir(cls, path: str | Path) -> PageLexicon:
        """Read the two files from a model directory (whose manifest the caller has verified); a ``ModelLoadError``
        names the file when one is missing."""
        path = Path(path)
        for name in FILES:
            if not (path / name).is_file():
                raise ModelLoadError(f"{path}: {name} missing (the decider's page part reads the page lexicon)")
        return cls.from_bytes({name: (path / name).read_bytes() for name in FILES}, str(path))

    @classmethod
    def from_bytes(cls, files: dict[str, bytes], where: str = "<memory>") -> PageLexicon:
        """The model from its two files' bytes (as :meth:`files` gives them); ``where`` names the model in errors.

        >>> m = PageLexicon(["a"], min_df=1).fit(["the West lies", "a mild day"], [{"a"}, set()])
        >>> PageLexicon.from_bytes(m.files()).carrying_
        {'a': 1}
        """
        from safetensors.numpy import load

        try:
            meta = json.loads(files[JSON_FILE].decode("utf-8"))
            s, b = meta["settings"], meta["block"]
            self = cls(list(s["labels"]), C=s["C"], min_df=s["min_df"], max_features=s["max_features"])
            self.labels_, self.n_pages_ = list(s["labels"]), int(s["n_pages"])
            self.carrying_ = {str(k): int(v) for k, v in s["carrying_each"].items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(f"{where}/{JSON_FILE}: unreadable page lexicon ({exc!r})") from None
        try:  # safetensors raises its own error type for a malformed file
            t = load(files[WEIGHTS_FILE])
            self.block_ = NgramBlock(b["analyzer"], tuple(b["ngram_range"]), list(b["terms"]), t["idf"])
            self.coef_, self.intercept_ = t["coef"].astype(np.float64), t["intercept"].astype(np.float64)
        except Exception as exc:  # noqa: BLE001 - any failure to read the weights is a load error, by file
            raise ModelLoadError(f"{where}/{WEIGHTS_FILE}: unreadable page lexicon weights ({exc!r})") from None
        width = len(self.block_.terms)
        if (self.coef_.shape != (width, len(self.labels_)) or self.intercept_.shape != (len(self.labels_),)
                or len(self.block_.idf) != width):
            raise ModelLoadError(f"{where}/{WEIGHTS_FILE}: weights do not match the vocabulary of {JSON_FILE}")
        return self
