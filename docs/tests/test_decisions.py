"""The ADRs are rendered from params.yaml and committed; they cannot drift from it."""

from __future__ import annotations

from pathlib import Path

import yaml

from docs.config_sources import read_declared
from docs.generate import environment, render_decisions
from phase1_foundations.settings import PROJECT_ROOT

PARAMS = PROJECT_ROOT / "params.yaml"


def test_the_committed_decisions_are_what_params_yaml_renders(tmp_path: Path) -> None:
    """The ADRs are committed; they cite params.yaml, so they must not drift from it."""
    written = render_decisions(environment(), read_declared(PROJECT_ROOT, PARAMS), tmp_path)
    assert len(written) >= 8  # the template and seven decisions
    committed = PROJECT_ROOT / "docs" / "decisions"
    for path in written:
        assert path.read_bytes() == (committed / path.name).read_bytes(), (
            f"docs/decisions/{path.name} differs from its template: run `make docs`"
        )
    assert sorted(p.name for p in committed.glob("*.md")) == sorted(p.name for p in written)


def test_the_promotion_adr_cites_the_margin_of_params_yaml(tmp_path: Path) -> None:
    raw = yaml.safe_load(PARAMS.read_text())
    raw["gate"]["superiority_margin"] = 0.0077
    changed = tmp_path / "params.yaml"
    changed.write_text(yaml.safe_dump(raw, sort_keys=False))
    render_decisions(environment(), read_declared(PROJECT_ROOT, changed), tmp_path / "out")
    adr = (tmp_path / "out" / "decisions" / "0002-promotion-metric-margin-and-test.md").read_text()
    assert "lower bound exceeds 0.0077" in adr
