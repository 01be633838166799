"""The ADRs are rendered from their templates and params.yaml at `make docs` (and `make site`)
time, never committed: a tuned threshold shows in the next render, with no copy to keep in step."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from docs.config_sources import read_declared
from docs.generate import DECISIONS, TEMPLATES, environment, render_decisions
from phase1_foundations.settings import PROJECT_ROOT

PARAMS = PROJECT_ROOT / "params.yaml"


def test_every_adr_template_renders_one_decision(tmp_path: Path) -> None:
    written = render_decisions(environment(), read_declared(PROJECT_ROOT, PARAMS), tmp_path)
    templates = sorted((TEMPLATES / DECISIONS).glob("*.md.j2"))
    assert len(templates) >= 8  # the template and seven decisions
    assert [p.name for p in written] == [t.name.removesuffix(".j2") for t in templates]
    for path in written:
        text = path.read_text()
        assert "{{" not in text, path.name
        assert "# ADR " in text, path.name


def test_no_rendered_adr_is_committed() -> None:
    """Git ignores the rendered ADRs, so none can be committed and drift from params.yaml."""
    tracked = subprocess.run(
        ["git", "ls-files", "docs/decisions"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert tracked == ""
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "docs/decisions/0002-promotion-metric-margin-and-test.md"],
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert ignored.returncode == 0


def test_the_promotion_adr_cites_the_margin_of_params_yaml(tmp_path: Path) -> None:
    raw = yaml.safe_load(PARAMS.read_text())
    raw["gate"]["superiority_margin"] = 0.0077
    changed = tmp_path / "params.yaml"
    changed.write_text(yaml.safe_dump(raw, sort_keys=False))
    render_decisions(environment(), read_declared(PROJECT_ROOT, changed), tmp_path / "out")
    adr = (tmp_path / "out" / "decisions" / "0002-promotion-metric-margin-and-test.md").read_text()
    assert "lower bound exceeds 0.0077" in adr
