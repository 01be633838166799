"""Phase 2's lesson: the exercise's self-check (`make check-phase2`). Course scaffolding beside the
pipeline it teaches, kept out of the wheel; the pipeline never imports it.
"""
