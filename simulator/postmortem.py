"""The postmortem of a drill: the Google SRE template's fields plus the ones an ML incident needs.

``prefill_postmortem`` (in ``postmortem_prefill.py``) fills what the system already knows from
the drill record, its event log and ``params.yaml``; the user writes the rest in the form.
``write_postmortem`` renders it with jinja2, autoescaped (so HTML a user types shows as text in
any Markdown renderer and never runs), to the runtime record ``<state>/simulator/postmortems/``
(which ``make docs`` indexes) and, when given, to a docs folder such as ``docs/postmortems``.
A JSON copy of the form sits beside the runtime Markdown so the form can be reopened.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape
from pydantic import BaseModel, ConfigDict, Field

from phase1_foundations.files import write_atomically
from phase1_foundations.settings import PROJECT_ROOT
from simulator.records import SimulatorPaths

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "postmortem.md.j2"
DOCS_POSTMORTEMS = PROJECT_ROOT / "docs" / "postmortems"

ActionKind = Literal["mitigate", "prevent"]


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActionItem(_Form):
    """One thing to do: mitigate (limit the damage next time) or prevent (stop it happening)."""

    description: str
    kind: ActionKind
    owner: str = ""


class TimelineEntry(_Form):
    week: int
    kind: str
    summary: str
    model_version: str | None = None


class Postmortem(_Form):
    """A drill's postmortem: the SRE template's fields, then the ML ones."""

    drill_id: str
    scenario: str
    title: str
    date: str = Field(description="YYYY-MM-DD: the day the drill started.")
    summary: str = ""
    impact: str = ""
    root_causes: str = ""
    trigger: str = ""
    resolution: str = ""
    detection: str = ""
    action_items: tuple[ActionItem, ...] = ()
    went_well: str = ""
    went_wrong: str = ""
    got_lucky: str = ""
    timeline: tuple[TimelineEntry, ...] = ()
    model_version: str = Field("", description="Versions that served, and the one at fault.")
    rollback_path: str = ""
    data_window: str = Field("", description="The weeks the serving model learned from.")
    drift_test: str = Field("", description="The drift test and its threshold.")
    feature_schema_diff: str = ""
    skew_check: str = Field("", description="The training-serving skew check and its result.")
    label_delay: str = ""
    detection_latency: str = ""


def markdown_safe(value: object) -> Markup:
    """HTML-escaped, and with square brackets as entities, so typed text can form neither a tag
    nor a Markdown link (``[x](javascript:...)`` would survive HTML escaping alone)."""
    return Markup(str(escape(value)).replace("[", "&#91;").replace("]", "&#93;"))


def postmortem_environment() -> Environment:
    """jinja2 with HTML autoescaping: a Markdown renderer then shows typed HTML as text."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        finalize=markdown_safe,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_postmortem(postmortem: Postmortem) -> str:
    """The postmortem as Markdown; its first line is ``# <title>`` (the docs index reads it)."""
    template = postmortem_environment().get_template(TEMPLATE)
    return template.render(pm=postmortem)


def postmortem_stem(postmortem: Postmortem) -> str:
    """``<date>-<scenario>``, safe as a file name."""
    scenario = re.sub(r"[^a-z0-9_-]+", "-", postmortem.scenario.lower()).strip("-") or "drill"
    return f"{postmortem.date}-{scenario}"


def _stem_for(postmortem: Postmortem, folder: Path) -> str:
    """The stem, unless another drill's postmortem already has it (then the drill id is added)."""
    stem = postmortem_stem(postmortem)
    sidecar = folder / f"{stem}.json"
    if sidecar.exists():
        other = Postmortem.model_validate_json(sidecar.read_bytes())
        if other.drill_id != postmortem.drill_id:
            return f"{stem}-{postmortem.drill_id}"
    return stem


def write_postmortem(
    postmortem: Postmortem, paths: SimulatorPaths, docs_dir: Path | None = None
) -> list[Path]:
    """Render to ``<state>/simulator/postmortems/<date>-<scenario>.md`` (+ its JSON form) and,
    when ``docs_dir`` is given (e.g. ``DOCS_POSTMORTEMS``), a copy there; returns the files."""
    folder = paths.postmortems
    stem = _stem_for(postmortem, folder)
    text = render_postmortem(postmortem)
    written = [folder / f"{stem}.md", folder / f"{stem}.json"]
    write_atomically(written[0], text)
    write_atomically(written[1], postmortem.model_dump_json(indent=2))
    if docs_dir is not None:
        write_atomically(docs_dir / f"{stem}.md", text)
        written.append(docs_dir / f"{stem}.md")
    return written


def read_postmortems(paths: SimulatorPaths) -> list[Postmortem]:
    """Every saved postmortem form, oldest date first."""
    found = [
        Postmortem.model_validate_json(path.read_bytes())
        for path in sorted(paths.postmortems.glob("*.json"))
    ]
    return sorted(found, key=lambda pm: (pm.date, pm.drill_id))


def saved_postmortem(paths: SimulatorPaths, drill_id: str) -> Postmortem | None:
    """The saved form of one drill's postmortem, to reopen it, or None."""
    return next((pm for pm in read_postmortems(paths) if pm.drill_id == drill_id), None)
