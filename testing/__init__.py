"""Helpers that tests and benchmarks share: a learner's fresh clone, a real uvicorn on 127.0.0.1,
champions with a known flaw, an isolated MLflow store.

Not product and not lesson: no phase imports it, and no benchmark imports a test module instead.
"""
