"""Settings read the environment lazily, and importing the project has no side effects."""

from __future__ import annotations

from pathlib import Path

import pytest

from phase1_foundations.settings import (
    EXIT_BAD_CONFIG,
    PROJECT_ROOT,
    ConfigError,
    Settings,
    get_settings,
    load_settings,
    refuse_bad_config,
)


def test_defaults_point_inside_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    # what the defaults are when nothing is set (a session fixture of another module, run earlier
    # in the same worker, may have set them for its own tests)
    monkeypatch.delenv("MLOPS_STATE_DIR", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = Settings()
    assert settings.state_dir == PROJECT_ROOT / "var"
    assert settings.tracking_uri.startswith("sqlite:///")
    assert settings.tracking_uri.endswith("var/mlflow.db")


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLOPS_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("MLOPS_SEED", "7")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "postgresql://127.0.0.1/mlflow")
    settings = Settings()
    assert settings.state_dir == tmp_path
    assert settings.seed == 7
    assert settings.tracking_uri == "postgresql://127.0.0.1/mlflow"


def test_bad_value_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_SEED", "forty-two")
    with pytest.raises(ValueError, match="seed"):
        Settings()


def test_get_settings_is_cached() -> None:
    assert get_settings() is get_settings()


def test_a_bad_setting_is_one_line_naming_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_SEED", "forty-two")
    with pytest.raises(ConfigError) as refused:
        load_settings(Settings, state_dir=Path("elsewhere"))
    assert str(refused.value) == (
        "invalid settings: MLOPS_SEED: Input should be a valid integer, unable to parse string"
        " as an integer"
    )


def test_a_command_line_answers_a_config_error_with_its_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    @refuse_bad_config
    def main(argv: list[str]) -> int:
        if argv:
            raise ConfigError(f"invalid settings: MLOPS_SEED: {argv[0]}")
        return 0

    assert main([]) == 0
    assert main(["not a number"]) == EXIT_BAD_CONFIG == 2
    assert capsys.readouterr().err == "error: invalid settings: MLOPS_SEED: not a number\n"


def test_a_state_dir_that_is_a_file_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every command makes folders under it (logs/ first): a file there was a traceback."""
    afile = tmp_path / "state"
    afile.write_text("not a folder")
    monkeypatch.setenv("MLOPS_STATE_DIR", str(afile))
    with pytest.raises(ConfigError) as refused:
        load_settings(Settings)
    assert (
        str(refused.value) == f"invalid settings: MLOPS_STATE_DIR: {afile} is a file, not a folder"
    )
    monkeypatch.setenv("MLOPS_STATE_DIR", str(tmp_path / "not-yet"))  # made by its first writer
    assert load_settings(Settings).state_dir == tmp_path / "not-yet"
