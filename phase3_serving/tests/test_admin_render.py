"""`admin status` and `admin rollout` read well before any challenger is loaded."""

from __future__ import annotations

from typing import Any

from phase3_serving.admin_cli import render_rollout


def rollout(challenger: str | None) -> dict[str, Any]:
    return {
        "mode": "shadow",
        "canary_percent": 0.0,
        "plan_id": "p1",
        "source": "admin",
        "challenger_version": challenger,
        "guardrails": {
            "requests": 0, "errors": 0, "p95_ms": None, "score_shift_psi": None,
            "champion_scores": 0,
        },
        "looks": {"last_verdict": None, "schedule": [200, 400], "alpha_per_test": 0.01},
        "last_breach": None,
    }  # fmt: skip


def test_no_challenger_reads_as_none_yet_not_vnone() -> None:
    shown = render_rollout(rollout(None))
    assert "vNone" not in shown
    assert "no challenger yet" in shown.splitlines()[0]


def test_a_challenger_is_named_with_its_version() -> None:
    assert "challenger v2" in render_rollout(rollout("2")).splitlines()[0]
