"""``train``: fit the baseline on the train split, evaluate on dev and test, write the model directory.

>>> from narratives.train import train
>>> result = train(out="/tmp/narratives-model")      # doctest: +SKIP
>>> result["metrics"]["splits"]["test"]["macro_f1"]  # doctest: +SKIP
0.71
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

from narratives.model.paths import corpus_dir, labels_dir
from narratives.model.taxonomy import load_taxonomy

from .card import render_card
from .data import LabelError, Passage, load_passages, sha256_text
from .deciderplan import Choice, DeciderPlan, fit_planned, plan_decider, resolve_options, signature_of
from .memo import RememberedScores
from .metrics import evaluate_predictions
from .recipe import RECIPE_FILE, MemberRecipe, Recipe, make_recipe
from .splits import frozen_hash, lock_problems, source_conflicts


def data_hash(passages: list[Passage]) -> str:
    """sha256 over every passage's id, split, labels and text hash, in id order."""
    rows = sorted(f"{p.id}\t{p.split}\t{sha256_text(p.text)}\t{','.join(p.narratives)}\t{p.stance}\t{p.lang}\n"
                  for p in passages)
    return hashlib.sha256("".join(rows).encode()).hexdigest()


def evaluate_model(clf, passages: list[Passage]) -> dict:
    """All metrics of a (saved or in-memory) model on labelled passages."""
    from narratives.model.progress import progress
    from narratives.serve.predict import decide

    if not passages:
        return {"n": 0}
    texts, step, decisions = [p.text for p in passages], 128, []
    bar = progress(total=len(texts), desc="scoring labelled passages", unit="passage")
    for i in range(0, len(texts), step):  # exact scores: metrics never see rounded records
        decisions += decide(clf, texts[i:i + step])
        bar.update(len(texts[i:i + step]))
    bar.close()
    return evaluate_predictions(passages, decisions, clf.labels_)


def _cv_metrics(clf, passages: list[Passage]) -> dict | None:
    """Figures from the out-of-fold scores computed while tuning thresholds (never seen in training)."""
    if getattr(clf, "oof_scores_", None) is None:
        return None
    from .metrics import narrative_metrics

    pred = [[lab for j, lab in enumerate(clf.labels_) if row[j] >= clf.thresholds_[lab]] for row in clf.oof_scores_]
    return narrative_metrics([p.narratives for p in passages], pred, clf.labels_)


def priors(tax) -> dict[str, list[str]]:
    """The taxonomy's own words for each narrative (name with description, and each cue): the prior a
    few-shot narrative learns from besides its handful of labelled passages."""
    return {n.id: [f"{n.name}. {n.description}", *n.cues] for n in tax.narratives}


def _fit(spec, tax, params: dict, fit: list[Passage], dev: list[Passage], log):
    """Fit a model of a registered kind: every kind takes the same arguments and uses what it needs
    (source groups for threshold folds, the taxonomy's priors, the dev split for calibration)."""
    clf = spec.cls(labels=list(tax.ids), **params)
    return clf.fit([p.text for p in fit], [p.narratives for p in fit], [p.stance for p in fit],
                   [p.source for p in fit], priors=priors(tax),
                   dev=([p.text for p in dev], [p.narratives for p in dev], [p.stance for p in dev]), log=log)


def _prepare(labels, corpus, reference):
    """Load and check the labels (and the reference model) before any work is done."""
    labels = Path(labels) if labels is not None else labels_dir()
    corpus = Path(corpus) if corpus is not None else corpus_dir()
    tax = load_taxonomy(labels / "taxonomy.yaml")
    ref = None
    if reference is not None:
        from narratives.model import load_model

        ref = load_model(reference)  # fail before fitting, not after
    passages = load_passages(labels, corpus, tax)
    problems = source_conflicts(passages) + lock_problems(labels, passages)
    if problems:
        raise LabelError(problems)
    return tax, passages, ref


def train(labels: str | Path | None = None, corpus: str | Path | None = None, out: str | Path | None = None,
          fit_splits: tuple[str, ...] = ("train",), kind: str = "baseline", reference: str | Path | None = None,
          command: str | None = None, log=sys.stderr, decider: Choice = "auto", real_negatives: bool = False,
          real_positives: bool = False, real_positives_top: int = 1, real_evidence: bool = False, **params) -> dict:
    """Train and save a model; returns ``{"path", "model_hash", "metrics"}``.

    ``kind`` is ``baseline`` (TF-IDF; thresholds from cross-validation on the fitting splits),
    ``transformer`` (temperatures and thresholds from the dev split, which it therefore never fits on),
    ``e5`` (heads on frozen multilingual embeddings; thresholds from cross-validation, like the baseline) or
    ``ensemble`` (the shipped default's recipe, :data:`RECIPE` in :mod:`narratives.model.ensemble`: a baseline, an e5 model and a
    transformer for English passages, trained here, then averaged).
    ``params`` go to the model's constructor. ``reference`` (a model name or directory) is evaluated on
    the same held-out splits, and the card and plots show it next to the new model.

    ``decider`` (:mod:`.deciderplan`): ``"auto"`` fits the article decider with the settings of the shipped
    model built the same way (the ``ensemble`` recipe has one; a single fitted kind has none), ``None`` fits
    none, :class:`~.deciderplan.DeciderOptions` fit one with those settings. Its articles are checked before
    any fitting, and it is fitted before anything is written.

    ``out`` is the model directory to write; without it the model becomes a new version in the models
    directory (``<models dir>/<version>``, see :mod:`narratives.model.registry`), and an identical model
    already there is kept rather than written twice. Either way the directory is written atomically: a
    failure at any point leaves every existing model intact.
    """
    from narratives.model.kinds import kind_spec

    spec = kind_spec(kind)
    if real_positives_top != 1 and not real_positives:
        raise ValueError("--real-positives-top applies with --real-positives")
    if real_positives_top < 1:
        raise ValueError(f"--real-positives-top must be at least 1, got {real_positives_top}")
    if real_evidence and not real_positives:
        raise ValueError("--real-evidence applies with --real-positives")
    if spec.combined and not spec.recipe:
        raise ValueError(f"{spec.name} models are built from members, not trained: see `narratives --help`")
    if spec.combined:
        if real_negatives or real_positives or real_evidence:
            raise ValueError("--real-negatives, --real-positives and --real-evidence apply to a trained kind, not to "
                             f"{spec.name}: train the member with them, then build the combined model with `narratives ensemble`")
        _check_recipe(spec, fit_splits, params)
    else:
        _check_fit_splits(spec, fit_splits)
        recipe = make_recipe(spec.name, params, fit_splits)  # every setting checked before any work
    options = resolve_options(decider, (spec.name, tuple(sorted(kind_spec(k).name for k, *_ in spec.recipe))))
    prepared = _prepare(labels, corpus, reference)
    plan = plan_decider(options, tuple(prepared[0].ids), log) if options is not None else None
    if spec.combined:
        return _train_recipe(spec, prepared, labels, out, fit_splits, command, log, plan)
    recipe = recipe.model_copy(update={"decider": options, "real_negatives": real_negatives,
                                       "real_positives": real_positives, "real_positives_top": real_positives_top,
                                       "real_evidence": real_evidence})
    return _train_one(spec, recipe, prepared, labels, out, command, log, plan=plan)[0]


def _check_fit_splits(spec, fit_splits) -> None:
    if spec.needs_dev and "dev" in fit_splits:
        raise ValueError(f"{spec.name} models calibrate on the dev split and cannot also fit on it")


def _train_one(spec, recipe: Recipe, prepared, labels, out, command, log, remember: bool = False,
               plan: DeciderPlan | None = None) -> tuple[dict, object]:
    """Fit one model of a registered kind on the prepared labels and save it (a new version without
    ``out``); returns the result and the fitted model, which knows its version and path (and, with
    ``remember``, keeps the scores of its evaluation for a combined model's, see :mod:`.memo`)."""
    from narratives.model.registry import publish_version, staging_dir

    tax, passages, ref = prepared
    fit_splits = tuple(recipe.fit_splits)
    fit = [p for p in passages if p.split in fit_splits]
    if not fit:
        raise LabelError([(str(labels or labels_dir()), f"no passages in split(s) {', '.join(fit_splits)}")])
    pool = Path(labels or labels_dir()).parent / "real"  # the training pool beside the label folder
    real: dict = {}
    if recipe.real_negatives:
        from .realpassages import negative_passages

        negatives, real["real_negatives"] = negative_passages(pool)  # a CacheError names every missing page
        fit = fit + negatives
        print(f"with the {len(negatives)} passages of the {real['real_negatives']['pages']} training-pool pages "
              "without narrative (real negatives, text from the local cache)", file=log)
    if recipe.real_positives:
        from .realpassages import positive_pages

        carried, real["real_positives"] = positive_pages(pool)  # checked before the first fit
        if recipe.real_evidence:
            from .realevidence import marked_passages

            marked, carried, real["real_evidence"] = marked_passages(pool, carried)  # checked before any fit
            real["real_positives"]["pages"] = len(carried)  # the pages left to the best-scored guess
            fit = fit + marked
            print(f"with the {len(marked)} passages of the {real['real_evidence']['pages']} training-pool pages "
                  f"whose evidence passages are marked ({real['real_evidence']['positives']} of them evidence)",
                  file=log)
    t0 = time.time()
    dev = [p for p in passages if p.split == "dev"]
    print(f"training a {spec.name} model on {len(fit)} passages ({', '.join(fit_splits)}) ...", file=log)
    clf = _fit(spec, tax, recipe.params, fit, dev, log)
    if recipe.real_positives and not carried:
        real["real_positives"]["passages"] = 0  # every page's evidence is marked: no guess, no second fit
    elif recipe.real_positives:
        from .realpassages import top_passages

        picked = top_passages(clf, carried, recipe.real_positives_top)
        real["real_positives"]["passages"] = len(picked)
        if recipe.real_positives_top != 1:  # recorded only when set: models fitted before keep their version
            real["real_positives"]["per_narrative"] = recipe.real_positives_top
        fit = fit + picked
        print(f"again with the {recipe.real_positives_top} best-scored passage(s) for each narrative of the "
              f"{len(carried)} training-pool pages "
              f"that carry one ({len(picked)} real positives): {len(fit)} passages ...", file=log)
        clf = _fit(spec, tax, recipe.params, fit, dev, log)
    if remember:
        clf = RememberedScores(clf)
    target = Path(out) if out is not None else staging_dir()
    result = _save_with_card(clf, target, tax, passages, fit_splits, ref, time.time() - t0, spec.tuned_on,
                             command or f"narratives train --kind {spec.name}" + (f" --out {out}" if out else ""),
                             log, cv=_cv_metrics(clf, fit), recipe=recipe, plan=plan, real=real)
    if out is None:
        path, new = publish_version(target)
        print(f"{'new version' if new else 'identical to the existing version'} {path.name} in {path.parent}",
              file=log)
        result["path"], result["new_version"] = str(path), new
        clf.path_ = str(path)
    return result, clf


def route(out: str | Path, routes: dict[str, str], fallback: str, labels: str | Path | None = None,
          corpus: str | Path | None = None, reference: str | Path | None = None, command: str | None = None,
          log=sys.stderr, decider: Choice = "auto") -> dict:
    """Build a routed model (each passage to the member for its language), evaluate it like a trained
    one, and save it with its card. Members are shipped names or folders beside ``out``; ``decider`` as in
    :func:`train` (``multilingual``'s members' kinds have a default)."""
    from narratives.model.loading import load_member
    from narratives.model.routed import RoutedNarrativeClassifier

    tax, passages, ref = _prepare(labels, corpus, reference)
    t0 = time.time()
    clf = RoutedNarrativeClassifier(routes, fallback)
    clf.build({m: load_member(m, Path(out).parent) for m in clf.refs()})
    if clf.labels_ != list(tax.ids):
        raise ValueError(f"the members' labels {clf.labels_} differ from the taxonomy's {list(tax.ids)}")
    fit_splits = tuple(sorted({s for m in [clf.fallback_, *clf.members_.values()]
                               for s in m.config_.get("data", {}).get("fit_splits", [])}))
    default = " ".join(f"--lang {k}={v}" for k, v in routes.items())
    return _save_with_card(clf, out, tax, passages, fit_splits, ref, time.time() - t0, "its members' own splits",
                           command or f"narratives route --out {out} {default} --fallback {fallback}", log,
                           plan=_plan_for(clf, decider, tax, log))


def _plan_for(clf, decider: Choice, tax, log) -> DeciderPlan | None:
    """The decider plan of a built combined model (its default comes from its members' kinds)."""
    options = resolve_options(decider, signature_of(clf))
    return plan_decider(options, tuple(tax.ids), log) if options is not None else None


def _check_recipe(spec, fit_splits, params) -> None:
    from narratives.model.kinds import kind_spec

    if params:
        raise ValueError(f"--kind {spec.aliases[0]} trains its members with their defaults; {sorted(params)} do not apply")
    if "dev" in fit_splits and any(kind_spec(kind).needs_dev for kind, *_ in spec.recipe):
        raise ValueError(f"a member of --kind {spec.aliases[0]} calibrates on the dev split, so it cannot fit on it")


def _train_recipe(spec, prepared, labels, out, fit_splits, command, log, plan: DeciderPlan | None = None) -> dict:
    """Train each member of a combined kind's recipe on the labels loaded once (as versions in the models
    directory, or beside ``out`` as ``<out>-<kind>``), then build the combined model from the fitted
    members themselves and save it the same way."""
    from narratives.model.kinds import kind_spec
    from narratives.model.registry import publish_version, staging_dir

    recipes = [make_recipe(kind, params, fit_splits) for kind, _, _, params in spec.recipe]  # all checked first
    tax, passages, ref = prepared
    if ref is not None:  # evaluated next to every member and the combined model: scored once
        prepared = (tax, passages, RememberedScores(ref))
    fitted, weights, languages, members = {}, {}, {}, []
    for (kind, weight, langs, _), recipe in zip(spec.recipe, recipes):
        sub = None if out is None else Path(out).parent / f"{Path(out).name}-{kind}"
        # members remember their dev and test scores: the combined model's evaluation reuses them
        result, clf = _train_one(kind_spec(kind), recipe, prepared, labels, sub, None, log, remember=True)
        name = Path(result["path"]).name
        fitted[name], weights[name] = clf, weight
        if langs:
            languages[name] = list(langs)
        members.append(MemberRecipe(kind=recipe.kind, weight=weight, languages=list(langs) if langs else None,
                                    params=recipe.params))
    target = Path(out) if out is not None else staging_dir()
    recipe = Recipe(kind=spec.name, params={}, settings={}, fit_splits=list(fit_splits), members=members,
                    decider=plan.options if plan else None)
    result = _combine(spec.cls(weights, languages or None), fitted, prepared, target,
                      command or f"narratives train --kind {spec.aliases[0]}", log, recipe=recipe, plan=plan)
    if out is None:
        path, new = publish_version(target)
        result["path"], result["new_version"] = str(path), new
    return result


def ensemble(out: str | Path, members: dict[str, float], labels: str | Path | None = None,
             corpus: str | Path | None = None, reference: str | Path | None = None, command: str | None = None,
             log=sys.stderr, languages: dict[str, list[str]] | None = None, decider: Choice = "auto") -> dict:
    """Build an ensemble (every passage scored by each member, threshold-rescaled scores averaged with
    ``members``' weights), evaluate it like a trained model, and save it with its card. Members are model
    names, versions, or folders beside ``out``; ``languages`` limits some members to some languages;
    ``decider`` as in :func:`train` (the members' kinds of ``ensemble`` and ``e5-lean`` have a default).

    >>> ensemble("model/weights/ensemble", {"baseline": 0.5, "e5-head": 0.5})  # doctest: +SKIP
    {'path': 'model/weights/ensemble', 'model_hash': '...', 'metrics': {...}}
    """
    from narratives.model.ensemble import EnsembleNarrativeClassifier
    from narratives.model.loading import load_member

    prepared = _prepare(labels, corpus, reference)
    clf = EnsembleNarrativeClassifier(members, languages)
    clf._check_settings()
    loaded = {m: load_member(m, Path(out).parent) for m in members}
    if Path(out).exists() and any(Path(m.path_).resolve() == Path(out).resolve() for m in loaded.values()):
        raise ValueError(f"{out} cannot be a member of the ensemble written over it")
    langs = languages or {}
    default = " ".join(f"--member {k}={v}" + (f"@{','.join(langs[k])}" if k in langs else "") for k, v in members.items())
    return _combine(clf, loaded, prepared, out, command or f"narratives ensemble --out {out} {default}", log,
                    decider=decider)


def _combine(clf, members: dict, prepared, out, command: str, log, recipe: Recipe | None = None,
             plan: DeciderPlan | None = None, decider: Choice = None) -> dict:
    """Build a combined model from its (loaded or just fitted) members, evaluate it and save it with its card."""
    from narratives.model.kinds import kind_spec

    tax, passages, ref = prepared
    t0 = time.time()
    clf.build(members)
    if clf.labels_ != list(tax.ids):
        raise ValueError(f"the members' labels {clf.labels_} differ from the taxonomy's {list(tax.ids)}")
    fit_splits = tuple(sorted({s for m in members.values() for s in m.config_.get("data", {}).get("fit_splits", [])}))
    if plan is None:
        plan = _plan_for(clf, decider, tax, log)
    return _save_with_card(clf, out, tax, passages, fit_splits, ref, time.time() - t0, kind_spec(clf.kind).tuned_on,
                           command, log, recipe=recipe, plan=plan)


def _held_out(clf, passages, fit_splits, ref) -> dict:
    """Figures on the held-out splits (those the model did not fit on), and the reference's on the same."""
    splits = {}
    for split in ("dev", "test"):
        held = [p for p in passages if p.split == split and split not in fit_splits]
        if held:
            splits[split] = evaluate_model(clf, held)
    out: dict = {"splits": splits}
    if ref is not None:
        ref_data = ref.config_.get("data", {})
        n_ref = sum(ref_data.get("counts", {}).get(k, 0) for k in ref_data.get("fit_splits", []))
        out["reference"] = {"name": Path(str(getattr(ref, "path_", "") or ref.model_hash_[:12])).name,
                            "model_version": ref.model_hash_[:12], "model_hash": ref.model_hash_,
                            "kind": ref.config_.get("kind"), "fit_passages": n_ref,
                            "splits": {k: evaluate_model(ref, [p for p in passages if p.split == k]) for k in splits}}
    return out


def _derived_files(full: dict, config: dict, tax, passages) -> dict[str, str | bytes]:
    """metrics.json, the card and the plots of a model directory, from its full metrics."""
    files: dict[str, str | bytes] = {"metrics.json": json.dumps(full, indent=2, sort_keys=True) + "\n",
                                     "README.md": render_card(full, config, tax, passages)}
    splits = full["splits"]
    shown = "test" if "test" in splits else next(iter(splits), None)
    if shown:
        from .plots import evaluation_plots

        by_model = {f"this model ({config.get('kind')})": splits[shown]}
        ref = full.get("reference")
        if ref:
            name = ref.get("name") or ref["model_version"]
            by_model[f"reference: {name} ({ref.get('kind')})"] = ref["splits"][shown]
        files.update(evaluation_plots(by_model, main=next(iter(by_model)), split=shown, n=splits[shown].get("n"),
                                      names={n.id: n.name for n in tax.narratives}))
    return files


def _save_with_card(clf, out, tax, passages, fit_splits, ref, train_s, tuned_on, command, log, cv=None,
                    recipe: Recipe | None = None, plan: DeciderPlan | None = None, real: dict | None = None) -> dict:
    """Fit the planned article decider, evaluate on the held-out splits (and the reference), then save with
    metrics, card and plots: a failure in any step writes nothing."""
    extra: dict = {}
    fitted = None
    if plan is not None:
        fitted = fit_planned(clf, plan)
        extra["article_decider"] = fitted.config
        fit = fitted.config["fitted_on"]
        print(f"article decider fitted: C {plan.options.C}, cutoff {plan.options.cutoff}, {fit['presence_rows']} "
              f"article-narrative rows ({fit['positives']} carried)", file=log)
    metrics: dict = {**_held_out(clf, passages, fit_splits, ref), "cv_on_fit_splits": cv, "tuned_on": tuned_on}
    counts = {s: sum(p.split == s for p in passages) for s in ("train", "dev", "test")}
    data = {"labels_sha256": data_hash(passages), "taxonomy_sha256": sha256_text(Path(tax.path).read_text("utf-8")),
            "test_split_sha256": frozen_hash([p for p in passages if p.split == "test"]),
            "fit_splits": list(fit_splits), "counts": counts}
    data.update(real or {})  # real_negatives / real_positives: what the training pool gave (train.realpassages)
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    def files(model_hash: str) -> dict[str, str | bytes]:
        full = {"model_version": model_hash[:12], "model_hash": model_hash, "created": created,
                "train_seconds": round(train_s, 1), "data": data, "command": command, **metrics}
        derived = _derived_files(full, {**clf.config(), **extra}, tax, passages)
        return {**derived, RECIPE_FILE: recipe.to_json()} if recipe is not None else derived

    model_hash = clf.save_pretrained(out, extra_config={"data": data, **extra}, extra_files=files,
                                     decider_files=fitted.files if fitted else None)
    clf.model_hash_, clf.config_, clf.path_ = model_hash, {**clf.config(), "data": data, **extra}, str(out)  # as loaded
    clf.article_stance_ = fitted.article_stance if fitted else None
    clf.page_lexicon_ = fitted.page_lexicon if fitted else None
    if not Path(out).name.startswith(".incoming-"):
        print(f"wrote {out} (version {model_hash[:12]})", file=log)
    return {"path": str(out), "model_hash": model_hash, "metrics": metrics}


def rewrite_card(path: str | Path, labels: str | Path | None = None, corpus: str | Path | None = None,
                 reevaluate: bool = False, reference: str | Path | None = None) -> str:
    """Render a model directory's card again (the card, metrics and plots are derived and outside the model
    hash), replacing the directory atomically; returns the (unchanged) model hash.

    With ``reevaluate`` the held-out figures (and the reference model's, found by its version) are first
    computed again on the current labels with the current metric code; the creation time, data hashes and
    command stay those of the training run. ``reference`` gives the reference model's directory when it is
    not in the models directory (it must have the recorded hash).

    >>> rewrite_card("model/weights/baseline", reevaluate=True)  # doctest: +SKIP
    '3fa1020adc89...'
    """
    import shutil

    from narratives.model import load_model
    from narratives.model.artifact import MANIFEST, atomic_model_dir, verify_model_dir

    manifest = verify_model_dir(path)
    src = Path(manifest["path"])
    metrics = json.loads((src / "metrics.json").read_text(encoding="utf-8"))
    tax, passages, _ = _prepare(labels, corpus, None)
    if reevaluate:
        ref_info = metrics.get("reference")
        ref = load_model(reference or ref_info["model_version"]) if ref_info else None
        if ref is not None and ref.model_hash_ != ref_info["model_hash"]:
            raise ValueError(f"the reference given is {ref.model_hash_[:12]}, the card's is {ref_info['model_version']}")
        metrics.update(_held_out(load_model(src), passages, metrics["data"]["fit_splits"], ref))
    files = _derived_files(metrics, manifest["config"], tax, passages)

    def write(tmp: Path) -> None:
        for f in src.iterdir():
            if f.name != MANIFEST and f.name not in files and not f.name.endswith(".png"):
                shutil.copy2(f, tmp / f.name)
        for name, content in files.items():
            (tmp / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))

    return atomic_model_dir(path, write)
