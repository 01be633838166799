"""What every phase's self-check reports: one finding per requirement, then one verdict line.

Each `make check-phaseN` runs ``python -m phaseN_x.lesson selfcheck``, which checks the learner's
checkout and never repairs it before it looks. A requirement is either met or not; one that is
not says what was seen and what to change, so the learner can fix it and run the check again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One requirement, whether it is met, what was seen, and what to change when it is not."""

    name: str
    passed: bool
    detail: str = ""
    advice: str = ""

    def shown(self) -> str:
        """Lines shown under the finding whatever its outcome (a gate's decision, say)."""
        return ""

    def render(self) -> str:
        head = f"[{'PASS' if self.passed else 'FAIL'}] {self.name}"
        lines = [f"{head}: {self.detail}" if self.detail else head]
        lines += [f"      {line}" for line in self.shown().splitlines()]
        if not self.passed:
            lines += [f"  -> {line}" for line in self.advice.splitlines()]
        return "\n".join(lines)


def report_findings(check: str, findings: Sequence[Finding], next_step: str) -> int:
    """Print every finding and the verdict; 0 when all are met, 1 when one is not."""
    for finding in findings:
        print(finding.render())
    failed = [f.name for f in findings if not f.passed]
    if failed:
        print(
            f"{check}: FAIL ({len(failed)} of {len(findings)} requirements not met:"
            f" {', '.join(failed)}); {next_step}"
        )
        return 1
    print(f"{check}: PASS (all {len(findings)} requirements met)")
    return 0
