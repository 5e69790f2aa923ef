"""``fewlat serve`` flags: one per ``Settings`` field, typed, over the ``FEWLAT_*`` variables.

The server itself is started for real by ``test_serve_kill.py``; here ``Server`` is
replaced by a recorder, so each case checks only what the flags turn into.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import fewlat.service.cli._serve as serve_module
from fewlat.exceptions import InvalidParameterError
from fewlat.service import Settings
from fewlat.service.cli import app

cli = CliRunner()


class _Recorded(InvalidParameterError):
    """Raised by the stand-in server so that the command stops right after parsing."""


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    got: list[Settings] = []

    class Recorder:
        def __init__(self, settings: Settings) -> None:
            got.append(settings)

        def start(self) -> None:
            raise _Recorded("recorded")

    monkeypatch.setattr(serve_module, "Server", Recorder)
    # the real one binds a handler to this invocation's stderr, closed once it returns
    monkeypatch.setattr(serve_module, "configure_logging", lambda json_lines: None)
    for name in Settings.model_fields:
        monkeypatch.delenv(f"FEWLAT_{name.upper()}", raising=False)
    return got


def test_every_setting_is_a_flag_with_its_docstring_as_help() -> None:
    result = cli.invoke(app, ["serve", "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    for name in Settings.model_fields:
        flag = "--" + name.replace("_", "-")
        assert flag in result.output, f"fewlat serve has no {flag}"
    assert "--log-text" in result.output  # the contract's spelling of the bool
    assert "(default: 20000)" in result.output  # plain defaults are shown


def test_flags_become_typed_settings_over_the_environment(
    seen: list[Settings], tmp_path: Path
) -> None:
    result = cli.invoke(
        app,
        [
            "serve",
            "--address",
            "127.0.0.1:0",
            "--db",
            f"sqlite:///{tmp_path / 'f.db'}",
            "--max-cached-models",
            "7",
            "--grace-s",
            "0.5",
            "--train-data",
            "a, b",
            "--cache-dir",
            str(tmp_path),
            "--log-json",
        ],
        env={"FEWLAT_MAX_CACHED_MODELS": "99", "FEWLAT_WORKERS": "3"},
    )
    assert result.exit_code == 1 and "recorded" in result.output
    (settings,) = seen
    assert settings.max_cached_models == 7  # the flag wins over FEWLAT_MAX_CACHED_MODELS
    assert settings.workers == 3  # no flag: the variable applies
    assert settings.grace_s == 0.5 and settings.train_data == ["a", "b"]
    assert settings.cache_dir == tmp_path and settings.log_json is True
    assert settings.max_batch_models == Settings.model_fields["max_batch_models"].default


def test_a_bad_setting_fails_in_one_line_naming_it(seen: list[Settings]) -> None:
    result = cli.invoke(app, ["serve", "--max-cached-models", "0"])
    assert result.exit_code == 1 and not seen
    assert "max_cached_models" in result.output and "greater than or equal to 1" in result.output
    assert "Traceback" not in result.output
