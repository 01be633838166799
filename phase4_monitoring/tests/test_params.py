"""The monitoring section of params.yaml validates, and phase 2 still reads the same file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from phase2_pipelines.params import PARAMS_FILE, ParamsError, load_params
from phase4_monitoring.params import MonitoringParams, load_monitoring_params


def test_the_project_params_file_has_a_valid_monitoring_section() -> None:
    raw = yaml.safe_load(PARAMS_FILE.read_text())
    assert "monitoring" in raw
    assert load_monitoring_params() == MonitoringParams.model_validate(raw["monitoring"])
    load_params()  # phase 2 ignores the section it does not own


def test_a_bad_threshold_is_refused_with_its_field(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("monitoring:\n  drift:\n    psi: -1\n")
    with pytest.raises(ParamsError, match=r"monitoring\.drift\.psi"):
        load_monitoring_params(path)


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("monitoring:\n  drift:\n    ks_pvalue: 0.05\n")
    with pytest.raises(ParamsError, match=r"monitoring\.drift\.ks_pvalue"):
        load_monitoring_params(path)
