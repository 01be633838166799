"""Render ``docs/templates`` from the live system into ``docs/`` (``make docs``).

Every document is a jinja2 template fed only by what the system holds: ``dvc.yaml``,
``params.yaml``, the MLflow registry and runs, the service's OpenAPI, and the capstone's and the
simulator's logs when they exist. A document whose source is missing is not rendered with empty
tables: the generator says what to run first. Nothing here reads the clock, so the same state
renders the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from mlflow import MlflowClient

from docs.config_sources import Declared, read_declared
from docs.live_sources import (
    MODEL_METRICS,
    CapstoneRun,
    Postmortem,
    RegistryView,
    Route,
    RunRow,
    experiment_runs,
    latest_candidates,
    read_capstone,
    read_postmortems,
    read_registry,
    read_routes,
    training_runs,
)
from phase1_foundations.settings import PROJECT_ROOT, Settings
from phase2_pipelines.tracking import project_client

TEMPLATES = PROJECT_ROOT / "docs" / "templates"
SUFFIX = ".j2"
ARCHITECTURE = "architecture.md"
EXPERIMENTS = "experiments.md"
CAPSTONE = "capstone.md"
POSTMORTEMS = "postmortems/index.md"
DECISIONS = "decisions"


class MissingStateError(RuntimeError):
    """The state a document needs is not there; the message says what to run first."""


@dataclass(frozen=True)
class Live:
    """The live state the documents are rendered from."""

    declared: Declared
    registry: RegistryView
    routes: tuple[Route, ...]
    training: tuple[RunRow, ...]
    candidates: tuple[RunRow, ...]
    capstone: tuple[CapstoneRun, ...]
    postmortems: tuple[Postmortem, ...]
    model_metrics: tuple[str, ...] = MODEL_METRICS


@dataclass
class Outcome:
    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what to run first, per document
    missing: str = ""  # set when the live documents could not be rendered at all


def codes(items: tuple[str, ...]) -> str:
    """A list as inline code, for a table cell."""
    return ", ".join(f"`{item}`" for item in items) or "-"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,  # a misspelt field fails the render, never prints blank
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # Markdown, not HTML
    )
    env.filters["codes"] = codes
    return env


def capstone_clients(state_dir: Path) -> list[MlflowClient]:
    """The MLflow store of each capstone run (``<state>/capstone/<scenario>/mlflow.db``)."""
    stores = sorted((state_dir / "capstone").glob("*/mlflow.db"))
    return [MlflowClient(tracking_uri=f"sqlite:///{db.resolve()}") for db in stores]


def find_registry(settings: Settings, model_name: str) -> tuple[MlflowClient, RegistryView]:
    """The project's store if it has a champion (``make phase2``), else a capstone run's."""
    for client in [project_client(settings), *capstone_clients(settings.state_dir)]:
        registry = read_registry(client, model_name)
        if registry is not None:
            return client, registry
    raise MissingStateError(
        f"No champion of {model_name!r} in the registry at {settings.tracking_uri} or in a"
        f" capstone run under {settings.state_dir / 'capstone'}: run `make phase2` (or"
        " `make capstone`) first, then `make docs`."
    )


def read_live(settings: Settings, params_file: Path, root: Path = PROJECT_ROOT) -> Live:
    declared = read_declared(root, params_file)
    client, registry = find_registry(settings, declared.params.registry.model_name)
    return Live(
        declared=declared,
        registry=registry,
        routes=read_routes(),
        training=training_runs(client),
        candidates=latest_candidates(experiment_runs(client)),
        capstone=read_capstone(settings.state_dir),
        postmortems=read_postmortems(settings.state_dir),
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def render_decisions(env: Environment, declared: Declared, out: Path) -> list[Path]:
    """The ADRs: hand-written reasoning, with the figures they cite read from params.yaml."""
    written = []
    for template in sorted((TEMPLATES / DECISIONS).glob(f"*{SUFFIX}")):
        name = template.name.removesuffix(SUFFIX)
        text = env.get_template(f"{DECISIONS}/{template.name}").render(declared=declared)
        written.append(write(out / DECISIONS / name, text))
    return written


def render_all(settings: Settings, params_file: Path, out: Path) -> Outcome:
    """Render every document whose state exists; list what to run first for the others.

    The ADRs need only ``params.yaml``, so they are rendered first, with or without a champion.
    """
    env = environment()
    outcome = Outcome(written=render_decisions(env, read_declared(PROJECT_ROOT, params_file), out))
    try:
        live = read_live(settings, params_file)
    except MissingStateError as missing:
        outcome.missing = str(missing)
        return outcome

    def render(name: str) -> None:
        text = env.get_template(name + SUFFIX).render(live=live)
        outcome.written.append(write(out / name, text))

    render(ARCHITECTURE)
    render(EXPERIMENTS)
    if not live.candidates:
        outcome.skipped.append(
            f"{EXPERIMENTS}: no candidate comparison is logged yet (only the training runs are"
            " shown): run `make experiments` first for the model-family comparison."
        )
    if live.capstone:
        render(CAPSTONE)
    else:
        outcome.skipped.append(
            f"{CAPSTONE}: no capstone event log under {settings.state_dir}/capstone: run"
            " `make capstone` first."
        )
    if live.postmortems:
        render(POSTMORTEMS)
        folder = (out / POSTMORTEMS).parent
        for postmortem in live.postmortems:  # the simulator's own rendering, as it wrote it
            text = (settings.state_dir / postmortem.path).read_text(encoding="utf-8")
            outcome.written.append(write(folder / postmortem.name, text))
    else:
        outcome.skipped.append(
            f"{POSTMORTEMS}: no postmortem under {settings.state_dir}/simulator/postmortems:"
            " run an incident drill in the simulator first."
        )
    return outcome
