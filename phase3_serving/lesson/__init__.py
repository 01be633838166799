"""Phase 3's lesson: the exercise's self-check (`make check-phase3`) and the canary replay it runs
on. Course scaffolding beside the service it teaches, kept out of the wheel; the service never
imports it.
"""
