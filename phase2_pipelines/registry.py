"""The model registry: one registered model, moved by aliases, with every move's reason recorded.

Aliases replace MLflow's deprecated stages: ``champion`` serves, ``challenger`` is staged for a
rollout, ``previous_champion`` is where a rollback goes. Each move writes an event tag on the
model version it concerns, so ``history()`` can rebuild who moved what, when and why. A promotion
that bypassed the gate is recorded as an ``override``.

``Registry(name)`` without a client talks to the project's store (the tracking URI MLflow was
configured with, else the sqlite file under the state directory), so it works the same in the
pipeline, the service and a plain Python session, and never creates ``./mlflow.db``.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from phase2_pipelines.tracking import project_client

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS_CHAMPION = "previous_champion"
EVENT_TAG_PREFIX = "event."
CHECKSUM_TAG = "model_sha256"
# The holdout rows with the scores phase 2 evaluated the model to give them: the service scores
# the same rows live in a shadow and compares (training-serving skew, phase3_serving/guardrails).
OFFLINE_SCORES_ARTIFACT = "offline_scores.parquet"
OFFLINE_SCORE_COLUMN = "offline_score"
# Same training data, params and holdout predictions: the same model (see stages.register).
IDENTITY_TAG = "model_identity"
PROMOTE = "promote"
OVERRIDE = "override"
ROLLED_BACK = "rolled_back"
# Written by MLflow into each download (it names the version asked for), not part of the model.
DOWNLOAD_METADATA = frozenset({"registered_model_meta"})


def artifact_checksum(directory: Path) -> str:
    """sha256 over a downloaded model artifact's files: relative paths and bytes, sorted."""
    digest = hashlib.sha256()
    files = (p for p in directory.rglob("*") if p.is_file() and p.name not in DOWNLOAD_METADATA)
    for path in sorted(files):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


class RegistryError(RuntimeError):
    """A registry move that cannot be made; nothing was changed."""


@dataclass(frozen=True)
class RegistryEvent:
    """One alias move: what happened to which version, and why."""

    at: str
    action: str
    alias: str
    version: str
    replaced: str | None
    reason: str

    def render(self) -> str:
        replaced = f" (was v{self.replaced})" if self.replaced else ""
        return f"{self.at}  {self.action:<11} {self.alias}=v{self.version}{replaced}  {self.reason}"


class Registry:
    """Alias moves and their history for one registered model."""

    def __init__(self, model_name: str, client: MlflowClient | None = None) -> None:
        self.name = model_name
        self.client = client or project_client()

    def version_for(self, alias: str) -> str | None:
        try:
            return str(self.client.get_model_version_by_alias(self.name, alias).version)
        except MlflowException:
            return None

    def aliases(self) -> dict[str, str]:
        """Each alias that points somewhere, and the version it points at."""
        found = {a: self.version_for(a) for a in (CHAMPION, CHALLENGER, PREVIOUS_CHAMPION)}
        return {alias: version for alias, version in found.items() if version is not None}

    def exists(self) -> bool:
        try:
            self.client.get_registered_model(self.name)
        except MlflowException:
            return False
        return True

    def _record(
        self, action: str, alias: str, version: str, replaced: str | None, reason: str
    ) -> RegistryEvent:
        event = RegistryEvent(
            at=datetime.now(UTC).isoformat(timespec="microseconds"),
            action=action,
            alias=alias,
            version=version,
            replaced=replaced,
            reason=reason,
        )
        key = f"{EVENT_TAG_PREFIX}{time.time_ns():020d}"
        self.client.set_model_version_tag(self.name, version, key, json.dumps(asdict(event)))
        return event

    def _require_version(self, version: str) -> None:
        try:
            self.client.get_model_version(self.name, version)
        except MlflowException as error:
            raise RegistryError(f"{self.name} has no version {version}") from error

    def promote(self, version: str, reason: str, *, override: bool = False) -> RegistryEvent:
        """Make ``version`` the champion; the current champion becomes ``previous_champion``.

        ``previous_champion`` is set before ``champion`` moves, so a failure part-way leaves the
        current champion serving. ``override`` records a promotion the gate did not make.
        """
        self._require_version(version)
        current = self.version_for(CHAMPION)
        if current == version:
            raise RegistryError(f"v{version} is already the champion")
        if current is not None:
            self.client.set_registered_model_alias(self.name, PREVIOUS_CHAMPION, current)
            self._record("demote", PREVIOUS_CHAMPION, current, None, reason)
        self.client.set_registered_model_alias(self.name, CHAMPION, version)
        if self.version_for(CHALLENGER) == version:
            self.client.delete_registered_model_alias(self.name, CHALLENGER)
        return self._record(OVERRIDE if override else PROMOTE, CHAMPION, version, current, reason)

    def stage_challenger(self, version: str, reason: str) -> RegistryEvent:
        """Point ``challenger`` at ``version`` for a shadow or canary rollout."""
        self._require_version(version)
        current = self.version_for(CHALLENGER)
        self.client.set_registered_model_alias(self.name, CHALLENGER, version)
        return self._record("challenge", CHALLENGER, version, current, reason)

    def retire_challenger(self, reason: str) -> RegistryEvent | None:
        """Remove the ``challenger`` alias (a failed canary, say); the champion is untouched."""
        current = self.version_for(CHALLENGER)
        if current is None:
            return None
        self.client.delete_registered_model_alias(self.name, CHALLENGER)
        return self._record("retired", CHALLENGER, current, None, reason)

    def rollback(self, reason: str) -> RegistryEvent:
        """Restore ``previous_champion`` as champion and mark the demoted version rolled back."""
        previous = self.version_for(PREVIOUS_CHAMPION)
        if previous is None:
            raise RegistryError(f"{self.name} has no previous_champion to roll back to")
        current = self.version_for(CHAMPION)
        self.client.set_registered_model_alias(self.name, CHAMPION, previous)
        self.client.delete_registered_model_alias(self.name, PREVIOUS_CHAMPION)
        if current is not None:
            self._record(ROLLED_BACK, CHAMPION, current, None, reason)
        return self._record("rollback", CHAMPION, previous, current, reason)

    def version_tagged(self, key: str, value: str) -> str | None:
        """The oldest version whose tag ``key`` is ``value``, if any."""
        versions = self.client.search_model_versions(f"name='{self.name}'")
        found = sorted(int(v.version) for v in versions if v.tags.get(key) == value)
        return str(found[0]) if found else None

    def tags(self, version: str) -> dict[str, str]:
        tags: dict[str, str] = self.client.get_model_version(self.name, version).tags
        return tags

    def rolled_back(self, version: str) -> RegistryEvent | None:
        """The last event that rolled ``version`` back, if it ever was."""
        events = [e for e in self.history() if e.action == ROLLED_BACK and e.version == version]
        return events[-1] if events else None

    def history(self) -> list[RegistryEvent]:
        """Every recorded move across all versions, oldest first."""
        events: list[tuple[str, RegistryEvent]] = []
        for version in self.client.search_model_versions(f"name='{self.name}'"):
            for key, value in version.tags.items():
                if key.startswith(EVENT_TAG_PREFIX):
                    events.append((key, RegistryEvent(**json.loads(value))))
        return [event for _, event in sorted(events, key=lambda pair: pair[0])]
