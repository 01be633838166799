"""params.yaml is the one home of every decision number: no params model restates one as a default.

Each phase validates its sections of params.yaml with pydantic models. A default on a field the
file sets would be a second home for its number (and one that drifts: ``contact_rule`` defaulted
to ``fixed`` while the file said ``break_even``), so every field the file sets is required. The
only defaults are on keys the file leaves out on purpose, listed here with the reason.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from phase2_pipelines.params import LATER_PHASE_SECTIONS, PARAMS_FILE, PipelineParams
from phase3_serving.params import ServingParams
from phase4_monitoring.params import MonitoringParams
from phase5_capstone.params import CapstoneParams

OMITTED_ON_PURPOSE = {
    "gate.burden_reason": "the capstone sets it per retrain, with the burden it chooses",
    "experiments.candidates[].logreg": "a candidate sets only its own family's hyperparameters",
    "experiments.candidates[].hgb": "a candidate sets only its own family's hyperparameters",
}


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds: ``X``, ``X | None``, ``tuple[X, ...]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        return [m for arg in typing.get_args(annotation) for m in _models(arg)]
    return []


def _fields(
    model: type[BaseModel], node: dict[str, Any], path: str = ""
) -> Iterator[tuple[str, FieldInfo, bool]]:
    """(dotted path, field, whether the file sets it) for every field, nested ones too."""
    for name, field in model.model_fields.items():
        key = f"{path}{name}"
        yield key, field, name in node
        value = node.get(name)
        for inner in _models(field.annotation):
            if isinstance(value, dict):
                yield from _fields(inner, value, f"{key}.")
            elif isinstance(value, list):
                for item in value:
                    yield from _fields(inner, item, f"{key}[].")


def _every_field() -> list[tuple[str, FieldInfo, bool]]:
    raw = yaml.safe_load(PARAMS_FILE.read_text())
    pipeline = {k: v for k, v in raw.items() if k not in LATER_PHASE_SECTIONS}
    found = list(_fields(PipelineParams, pipeline))
    for section, model in (
        ("serving", ServingParams),
        ("monitoring", MonitoringParams),
        ("capstone", CapstoneParams),
    ):
        found += _fields(model, raw[section], f"{section}.")
    return found


def test_no_field_the_file_sets_has_a_default() -> None:
    restated = sorted(
        {
            path
            for path, field, is_set in _every_field()
            if is_set and not field.is_required() and path not in OMITTED_ON_PURPOSE
        }
    )
    assert restated == [], f"defaults restating params.yaml: {restated}"


def test_the_only_defaults_are_keys_the_file_leaves_out_on_purpose() -> None:
    fields = _every_field()
    assert len(fields) > 100  # every section was walked
    defaults = {path: field.default for path, field, _ in fields if not field.is_required()}
    assert set(defaults) == set(OMITTED_ON_PURPOSE)
    assert set(defaults.values()) <= {None, ""}  # "not given", never a number
