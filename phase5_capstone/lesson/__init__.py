"""Phase 5's lesson: the self-check (`make check-phase5`). Course scaffolding beside the capstone it
teaches, kept out of the wheel; the capstone never imports it.
"""
