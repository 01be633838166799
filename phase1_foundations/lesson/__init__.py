"""Phase 1's lesson: the exercise's self-check (`make check-phase1`), and the one shape every
phase's self-check reports in (``findings.py``). Course scaffolding beside the code it teaches,
kept out of the wheel; product code never imports it.
"""
