"""Hot swap under bounded load: ten champion moves, not one failed request."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from phase2_pipelines.registry import Registry
from phase3_serving.tests.conftest import Trained
from testing.payloads import request_rows
from testing.server import Server, admin_headers, running_server

pytestmark = pytest.mark.slow
SWAPS = 10
CONCURRENCY = 16
LOAD_LIMIT_S = 120  # the load stops by itself even if the swaps hang


@pytest.fixture(scope="module")
def two_versions(trained_with_hgb: Trained) -> tuple[str, str]:
    """The champion and a second registered version (gradient boosting) to swap with."""
    assert trained_with_hgb.hgb is not None
    return trained_with_hgb.champion.version, trained_with_hgb.hgb.version


@pytest.fixture(scope="module")
def server(trained_with_hgb: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("swap") / "server.log"
    settings = trained_with_hgb.settings
    with running_server(settings, log, MLOPS_SERVING_POLL_SECONDS="0.3") as running:
        yield running


async def _load(
    url: str, stop: asyncio.Event, statuses: Counter[int], versions: Counter[str]
) -> None:
    rows = request_rows(200)
    deadline = time.monotonic() + LOAD_LIMIT_S
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def worker(offset: int) -> None:
            i = offset
            while not stop.is_set() and time.monotonic() < deadline:
                if i % 10 == 0:
                    response = await client.post("/v1/predict/batch", json={"rows": rows[:20]})
                else:
                    response = await client.post("/v1/predict", json=rows[i % len(rows)])
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    body = response.json()
                    versions[str(body["model_version"])] += 1
                i += 1

        await asyncio.gather(*(worker(n) for n in range(CONCURRENCY)))


async def _swap(url: str, registry: Registry, order: list[str]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for version in order:
            await asyncio.to_thread(registry.promote, version, f"hot-swap test to v{version}")
            reloaded = await client.post("/admin/reload", headers=admin_headers())
            assert reloaded.json()["champion"] == version
            await asyncio.sleep(0.3)  # let traffic flow on the new model


def test_no_request_fails_across_ten_swaps(
    server: Server, trained_with_hgb: Trained, two_versions: tuple[str, str]
) -> None:
    first, second = two_versions
    registry = Registry(trained_with_hgb.params.registry.model_name)
    order = [second if n % 2 == 0 else first for n in range(SWAPS)]
    statuses: Counter[int] = Counter()
    versions: Counter[str] = Counter()

    async def scenario() -> None:
        stop = asyncio.Event()
        load = asyncio.create_task(_load(server.url, stop, statuses, versions))
        await asyncio.sleep(0.5)
        try:
            await _swap(server.url, registry, order)
        finally:
            stop.set()
            await load

    asyncio.run(scenario())
    assert sum(statuses.values()) > 200  # real load ran
    assert set(statuses) == {200}, statuses  # not one failed request
    assert set(versions) == {first, second}  # both models answered
    metrics = httpx.get(f"{server.url}/metrics").text
    swaps = next(
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith('churn_api_model_swaps_total{alias="champion"}')
    )
    assert swaps >= SWAPS + 1  # the initial load, then every move
