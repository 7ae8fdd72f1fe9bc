"""``narratives decider``: fit the article decider on team-written articles and attach it to a model.

>>> from click.testing import CliRunner
>>> CliRunner().invoke(decider, ["--help"]).exit_code
0
"""
from __future__ import annotations

import json
from pathlib import Path

import click


@click.group()
def decider() -> None:
    """The article decision as a calibrated step (see narratives.serve.decider): fitted on whole team-written
    articles (data/articles/*.jsonl), stored in the model's config.json, so it is part of its version."""


@decider.command("fit")
@click.argument("model")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Model directory to write: a copy of MODEL with the decider in its config.json.")
@click.option("--articles", type=click.Path(path_type=Path), default=None,
              help="Article file or folder [default: data/articles].")
@click.option("--cutoff", default=0.5, show_default=True, type=click.FloatRange(0.01, 0.99),
              help="Probability at which a narrative is predicted (choose it on the real pages' dev half).")
@click.option("--C", "C", default=1.0, show_default=True, type=click.FloatRange(min=1e-4), help="L2 inverse strength.")
@click.option("--stance/--no-stance", default=True, show_default=True,
              help="Also fit the article-level stance part (else the passage stance rule stays).")
def decider_fit(model, out, articles, cutoff, C, stance):
    """Score the train-split team articles with MODEL, fit the decider, and write MODEL plus the decider to
    --out (a new model version; the weights are unchanged). Prints the decider."""
    from narratives.model import load_model
    from narratives.model.artifact import ModelLoadError
    from narratives.train.decider import articles_digest, attach_decider, fit_decider, score_articles_passages
    from narratives.train.teamarticles import ArticleError, load_articles

    try:
        clf = load_model(model)
        arts = [a for a in load_articles(articles, tuple(clf.labels_)) if a.split == "train"]
        scored = score_articles_passages(clf, arts)
        d = fit_decider(scored, list(clf.labels_), dict(clf.thresholds_), cutoff=cutoff, C=C, stance=stance,
                        provenance={"articles_sha256": articles_digest(arts), "n_articles": len(arts),
                                    "split": "train", "base_model_hash": clf.model_hash_})
        h = attach_decider(clf.path_, d, out)
    except (ArticleError, ModelLoadError, ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(d, indent=1))
    click.echo(f"wrote {out} (model hash {h[:12]})")
