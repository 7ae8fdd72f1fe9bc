"""Help texts shared by the ``narratives`` commands (kept import-free, so ``--help`` stays instant).

>>> "shipped" in MODEL_HELP
True
"""

EVIDENCE_HELP = ("Fit the decider on the passage scores and thresholds of MODEL (a name, version or directory scoring "
                 "the same narratives, pinned by its hash) instead of the model's own (own); the records' passage "
                 "scores and evidence stay the model's [default: the shipped model's for one built like it (the "
                 "default's recipe: e5-real, when it scores the same narratives), else own].")
CORPUS_HELP = "Folder with the seed articles that data/labels/seed_spans.jsonl points into [default: ../shared/seeds]."
LABELS_HELP = "Label folder (taxonomy.yaml and *.jsonl label files) [default: data/labels]."
# The shipped names are listed here rather than read from model/weights, so --help imports nothing;
# tests/serve/test_cli_help.py keeps the list equal to the shipped models.
SHIPPED_HELP = ("baseline, minilm-lora, routed, e5-head, multilingual, ensemble, e5-lora, e5-lean, e5-head-int8, "
                "ensemble-int8, e5-real")
MODEL_HELP = (f"A model name or version (see `narratives models list`; shipped: {SHIPPED_HELP}) "
              "or a model directory [default: the default model, see `narratives promote`].")
STANCE_SOURCES = ("passages", "article_text", "auto")
STANCE_SOURCE_HELP = ("Where the decider's stance part reads an article's stance: its passages' stance scores, the whole "
                      "article's text (an article stance model written beside the weights, fitted on the team articles "
                      "and the real training pool's pages that carry a narrative; the cache must hold the pool), or auto "
                      "(the article's text when the cache holds the pool, else the passages) [default: as for "
                      "training: the shipped model's for one built like it, else passages].")
PAGE_MODEL_HELP = ("Give the decider the page feature: a page model (does the page carry any narrative?) over the mean "
                   "embedding of the article's passages, fitted on the real training pool (the cache must hold it) "
                   "in the embedding space of the model the decider reads [default: as for training: the shipped "
                   "model's for one built like it (the default's recipe: when the cache holds the pool), else no].")
