"""Phase 4's lesson: the walkthrough (`make phase4`), the demos, the exercise's self-check and the
world replays they run on. Course scaffolding beside the monitor it teaches, kept out of the wheel;
the product (``python -m phase4_monitoring check``) never imports it.
"""
