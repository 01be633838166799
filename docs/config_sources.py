"""What the repository's own files declare: pipeline stages, gate and monitoring thresholds, alerts.

Each is read from the file the running code reads (``dvc.yaml``, ``params.yaml``,
``phase4_monitoring/alerts.yml``), so a changed threshold changes the documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from phase2_pipelines.params import GateParams, PipelineParams, load_params
from phase4_monitoring.params import load_monitoring_params

CODE_SUFFIXES = (".py",)
LOCK_FILES = ("uv.lock",)


@dataclass(frozen=True)
class Stage:
    """One DVC stage: its command and the data, params and outputs DVC hashes for it."""

    name: str
    cmd: str
    data: tuple[str, ...]  # dependencies that are data (code and the lock are counted, not listed)
    code_files: int
    params: tuple[str, ...]
    outs: tuple[str, ...]
    always_runs: bool


@dataclass(frozen=True)
class Setting:
    """One leaf of a params.yaml section, as a dotted key, with the file's comment on it."""

    key: str
    value: str
    note: str = ""


@dataclass(frozen=True)
class AlertRule:
    group: str
    name: str
    expr: str
    duration: str
    severity: str
    summary: str


@dataclass(frozen=True)
class Declared:
    """Everything the documents take from the repository's configuration files."""

    params_file: str
    stages: tuple[Stage, ...]
    params: PipelineParams
    monitoring: tuple[Setting, ...]
    monitoring_sections: tuple[str, ...]
    alerts_file: str | None
    alerts: tuple[AlertRule, ...]

    @property
    def gate(self) -> GateParams:
        return self.params.gate

    def setting(self, key: str) -> str:
        """A monitoring setting's value, or a note that this checkout does not declare it."""
        found = next((s.value for s in self.monitoring if s.key == key), None)
        return found if found is not None else f"(no `{key}` in {self.params_file})"


def read_stages(dvc_file: Path) -> tuple[Stage, ...]:
    raw = yaml.safe_load(dvc_file.read_text()) or {}
    stages = []
    for name, body in (raw.get("stages") or {}).items():
        deps = [str(d) for d in body.get("deps") or []]
        code = [d for d in deps if d.endswith(CODE_SUFFIXES) or d in LOCK_FILES]
        params: list[str] = []
        for entry in body.get("params") or []:
            params.extend(entry if isinstance(entry, dict) else [str(entry)])
        stages.append(
            Stage(
                name=str(name),
                cmd=str(body["cmd"]),
                data=tuple(d for d in deps if d not in code),
                code_files=len([d for d in code if d not in LOCK_FILES]),
                params=tuple(str(p) for p in params),
                outs=tuple(str(o) for o in body.get("outs") or []),
                always_runs=bool(body.get("always_changed", False)),
            )
        )
    return tuple(stages)


def flatten(prefix: str, value: object) -> list[Setting]:
    """Dotted leaves of a YAML mapping, in file order."""
    if isinstance(value, dict):
        found: list[Setting] = []
        for key, item in value.items():
            found.extend(flatten(f"{prefix}.{key}" if prefix else str(key), item))
        return found
    if isinstance(value, list):
        return [Setting(prefix, ", ".join(scalar(v) for v in value))]
    return [Setting(prefix, scalar(value))]


def scalar(value: object) -> str:
    """A YAML scalar as the file spells it (``true``, not Python's ``True``)."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return str(value)


KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w-]*):(?P<rest>.*)$")


def line_comments(text: str) -> dict[str, str]:
    """The trailing ``# comment`` of each ``key: value`` line, by dotted key.

    Good enough for params.yaml's block style; a ``#`` inside a quoted value is not expected.
    """
    comments: dict[str, str] = {}
    path: list[tuple[int, str]] = []
    for line in text.splitlines():
        match = KEY_LINE.match(line)
        if not match:
            continue
        indent = len(match["indent"])
        while path and path[-1][0] >= indent:
            path.pop()
        path.append((indent, match["key"]))
        _, hash_, comment = match["rest"].partition(" #")
        if hash_:
            comments[".".join(key for _, key in path)] = comment.strip()
    return comments


def with_notes(settings: list[Setting], comments: dict[str, str]) -> list[Setting]:
    return [Setting(s.key, s.value, comments.get(s.key, "")) for s in settings]


def read_alerts(alerts_file: Path) -> tuple[AlertRule, ...]:
    raw = yaml.safe_load(alerts_file.read_text()) or {}
    rules = []
    for group in raw.get("groups") or []:
        for rule in group.get("rules") or []:
            if "alert" not in rule:
                continue
            rules.append(
                AlertRule(
                    group=str(group.get("name", "")),
                    name=str(rule["alert"]),
                    expr=" ".join(str(rule["expr"]).split()),
                    duration=str(rule.get("for", "0s")),
                    severity=str((rule.get("labels") or {}).get("severity", "")),
                    summary=str((rule.get("annotations") or {}).get("summary", "")),
                )
            )
    return tuple(rules)


def read_declared(root: Path, params_file: Path) -> Declared:
    """The stages, params and alert rules as the files in ``root`` declare them today."""
    params = load_params(params_file)  # first: a bad file is refused by name, field and problem
    load_monitoring_params(params_file)  # the section shown below, as its values, is valid too
    text = params_file.read_text()
    raw = yaml.safe_load(text) or {}
    monitoring = raw.get("monitoring") or {}
    alerts_file = root / "phase4_monitoring" / "alerts.yml"
    return Declared(
        params_file=params_file.name,
        stages=read_stages(root / "dvc.yaml"),
        params=params,
        monitoring=tuple(with_notes(flatten("monitoring", monitoring), line_comments(text))),
        monitoring_sections=tuple(str(k) for k, v in monitoring.items() if isinstance(v, dict)),
        alerts_file=alerts_file.relative_to(root).as_posix() if alerts_file.exists() else None,
        alerts=read_alerts(alerts_file) if alerts_file.exists() else (),
    )
