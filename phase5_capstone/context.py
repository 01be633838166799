"""What every step works with: the run's files, settings and parameters, the world, the service.

A ``Context`` is rebuilt by every process that runs the steps (a fresh run, or a rerun after a
kill); it holds nothing that is not on disk or in the registry, only caches of it. The service
starts on first use, so a rerun whose remaining steps need no service starts none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from phase1_foundations.settings import Settings
from phase1_foundations.world import World
from phase2_pipelines.params import PipelineParams
from phase4_monitoring.monitor import MonitorReference
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.reference import Champion, load_champion
from phase5_capstone.params import CapstoneParams
from phase5_capstone.scenario import CapstoneScenario
from phase5_capstone.serving import EmbeddedService, serving_settings
from phase5_capstone.state import RunPaths

STALE_ALIAS = "stale-replica"
NEVER_SECONDS = 10.0**9


@dataclass
class Context:
    paths: RunPaths
    settings: Settings  # the run's own: state under paths.root
    scenario: CapstoneScenario
    capstone: CapstoneParams
    pipeline: PipelineParams
    monitoring: MonitoringParams
    params_file: Path  # every section above was read from it; the service reads its own there
    _service: EmbeddedService | None = None
    _replica: EmbeddedService | None = None
    _champions: dict[str, Champion] = field(default_factory=dict)
    _batches: dict[int, pd.DataFrame] = field(default_factory=dict)

    @cached_property
    def world(self) -> World:
        return self.scenario.make_world()

    def batch(self, week: int) -> pd.DataFrame:
        """The week's batch as it arrived: simulated once per context (a week's steps ask for it
        several times, and the world makes the same bytes every time), a copy for each caller."""
        if week not in self._batches:
            self._batches[week] = self.world.week(week).features
        return self._batches[week].copy()

    @property
    def model_name(self) -> str:
        return self.pipeline.registry.model_name

    @property
    def service(self) -> EmbeddedService:
        """The running service (started now if it is not yet)."""
        if self._service is None:
            self.configure_mlflow()
            params = self.capstone.service
            self._service = EmbeddedService(
                serving_settings(self.settings, params, self.params_file), params
            ).start()
        return self._service

    @property
    def stale_replica(self) -> EmbeddedService:
        """A second replica of the service that never swaps: it serves the version the registry
        alias ``STALE_ALIAS`` was pinned to, polls nothing and is never told to reload."""
        if self._replica is None:
            self.configure_mlflow()
            params = self.capstone.service
            own = self.settings.model_copy(
                update={
                    "state_dir": self.paths.root / "stale-replica",
                    "mlflow_tracking_uri": self.settings.tracking_uri,
                }
            )
            settings = serving_settings(own, params, self.params_file).model_copy(
                update={
                    "serving_model_alias": STALE_ALIAS,
                    "serving_challenger_alias": f"{STALE_ALIAS}-none",
                    "serving_poll_seconds": NEVER_SECONDS,
                }
            )
            self._replica = EmbeddedService(settings, params).start()
        return self._replica

    def close(self) -> None:
        for service in (self._service, self._replica):
            if service is not None:
                service.stop()
        self._service = self._replica = None

    def configure_mlflow(self) -> None:
        from phase2_pipelines.tracking import configure_mlflow

        configure_mlflow(self.settings)

    def champion(self, version: str) -> Champion:
        """A registered version with its run's monitoring reference (cached: versions are
        immutable)."""
        if version not in self._champions:
            self.configure_mlflow()
            self._champions[version] = load_champion(self.settings, self.model_name, version)
        return self._champions[version]

    def remember(self, champion: Champion) -> None:
        """Use a version another context of the same registry loaded already (a second or more
        of MLflow each time it is loaded): a registered version never changes."""
        self._champions[champion.version] = champion

    def reference(self, version: str) -> MonitorReference:
        champion = self.champion(version)
        return MonitorReference(
            profile=champion.profile,
            baseline=champion.baseline,
            threshold=champion.threshold,
            business=self.pipeline.evaluate.business,
            calibration_bins=self.pipeline.evaluate.calibration_bins,
        )
