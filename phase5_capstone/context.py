"""What every step works with: the run's files, settings and parameters, the world, the service.

A ``Context`` is rebuilt by every process that runs the steps (a fresh run, or a rerun after a
kill); it holds nothing that is not on disk or in the registry, only caches of it. The service
starts on first use, so a rerun whose remaining steps need no service starts none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

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


@dataclass
class Context:
    paths: RunPaths
    settings: Settings  # the run's own: state under paths.root
    scenario: CapstoneScenario
    capstone: CapstoneParams
    pipeline: PipelineParams
    monitoring: MonitoringParams
    _service: EmbeddedService | None = None
    _champions: dict[str, Champion] = field(default_factory=dict)

    @cached_property
    def world(self) -> World:
        return self.scenario.make_world()

    @property
    def model_name(self) -> str:
        return self.pipeline.registry.model_name

    @property
    def service(self) -> EmbeddedService:
        """The running service (started now if it is not yet)."""
        if self._service is None:
            self.configure_mlflow()
            params = self.capstone.service
            self._service = EmbeddedService(serving_settings(self.settings, params), params).start()
        return self._service

    def close(self) -> None:
        if self._service is not None:
            self._service.stop()
            self._service = None

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

    def reference(self, version: str) -> MonitorReference:
        champion = self.champion(version)
        return MonitorReference(
            profile=champion.profile,
            baseline=champion.baseline,
            threshold=champion.threshold,
            business=self.pipeline.evaluate.business,
            calibration_bins=self.pipeline.evaluate.calibration_bins,
        )
