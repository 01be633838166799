"""Phase 5, the capstone: the continuous-training system, end to end, on a simulated weekly clock.

Every simulated week runs the same steps (``weekly.py``, ``score_week.py``, ``decisions.py``):
ingest the world's batch and validate it, score it through the real service, release delayed
labels, monitor, decide, retrain and gate a challenger, roll it out (shadow, canary, promote) or
roll it back. Each step is a plain function over durable state under
``<state>/capstone/<run>/``, and every decision goes to an event log with its evidence. The
embedded runner (``runner.py``, ``python -m phase5_capstone run``) drives the steps in one
process; ``run --one-week`` lets a scheduler (``deploy/cronjob.yaml``) drive them week by week.
"""
