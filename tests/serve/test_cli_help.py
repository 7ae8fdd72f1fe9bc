"""Help texts and listings a new user reads first: every option explained, every shipped model named,
``models list`` aligned and honest about what is shipped, ``rollback`` saying where it went."""
from __future__ import annotations

import shutil

import click
from click.testing import CliRunner

from narratives.model import DEFAULT_MODEL_NAME
from narratives.model.loading import shipped_names
from narratives.serve.cli import SHIPPED_HELP, main


def _commands(group: click.Group, prefix: str = ""):
    for name, cmd in group.commands.items():
        yield f"{prefix}{name}", cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, f"{prefix}{name} ")


def test_every_option_has_help():
    missing = [f"{name} {opt.opts[0]}" for name, cmd in _commands(main) for opt in cmd.params
               if isinstance(opt, click.Option) and not opt.help and opt.name not in ("help", "version")]
    assert missing == []


def test_model_help_names_every_shipped_model():
    assert sorted(x.strip() for x in SHIPPED_HELP.split(",")) == shipped_names()
    for cmd in ("score", "predict", "serve"):
        out = CliRunner().invoke(main, [cmd, "--help"]).output
        for name in shipped_names():
            assert name in " ".join(out.split()), (cmd, name)


def test_models_list_aligns_columns_and_marks_only_shipped_models(tiny_model, tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(tiny_model, models / "0123456789ab")
    monkeypatch.setenv("NARRATIVES_MODELS", str(models))
    out = CliRunner().invoke(main, ["models", "list"]).output.splitlines()
    head = out[0]
    mine = next(line for line in out if "0123456789ab" in line)
    assert "(shipped)" not in mine
    shipped = [line for line in out if line.split()[0].lstrip("*") in shipped_names() or
               (len(line.split()) > 1 and line.split()[0] == "*" and line.split()[1] in shipped_names())]
    assert len(shipped) == len(shipped_names()) and all(line.endswith("(shipped)") for line in shipped)
    col = head.index("kind")
    for line in out[1:]:  # every kind (frozen-embedding is the longest) starts under the header
        assert line[col - 1] == " " and line[col] != " ", line
    assert max(len(line) for line in out) == len(next(line for line in out if "frozen-embedding" in line))


def test_rollback_names_the_shipped_default(tmp_path, monkeypatch):
    monkeypatch.setenv("NARRATIVES_MODELS", str(tmp_path / "models"))
    runner = CliRunner()
    assert runner.invoke(main, ["promote", "baseline", "--force"]).exit_code == 0
    res = runner.invoke(main, ["rollback"])
    assert res.exit_code == 0, res.output
    assert "version shipped" not in res.output
    assert f"default is now {DEFAULT_MODEL_NAME} (the shipped default" in res.output
