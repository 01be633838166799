"""What every page shares: where the files are, and which drill is the current one.

Nothing is kept only in the browser session. The current drill's id is in the URL (``?drill=``)
and in a small file under the simulator's folder; every record is read from disk on each run,
so a refresh, a new tab or a restart of the app loses nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from phase1_foundations.files import write_atomically
from phase1_foundations.settings import get_settings
from simulator.records import DrillRecord, SimulatorPaths

DRILL_PARAM = "drill"
CURRENT_FILE = "current_drill"
DRILL_ID = re.compile(r"[A-Za-z0-9_.-]{1,80}")


def simulator_paths() -> SimulatorPaths:
    """The simulator's folder under the state directory (``MLOPS_STATE_DIR``, default ./var)."""
    return SimulatorPaths.of(get_settings().state_dir)


def _current_file(paths: SimulatorPaths) -> Path:
    return paths.root / CURRENT_FILE


def load_drill(paths: SimulatorPaths, drill_id: str) -> DrillRecord | None:
    if not DRILL_ID.fullmatch(drill_id) or drill_id.startswith("."):
        return None  # a hand-edited URL names no folder outside the drills
    path = paths.drill(drill_id)
    if not path.is_file():
        return None
    return DrillRecord.model_validate_json(path.read_bytes())


def current_drill(paths: SimulatorPaths) -> DrillRecord | None:
    """The drill named in the URL, else the one last started or opened, else None."""
    wanted = st.query_params.get(DRILL_PARAM)
    if wanted is None and _current_file(paths).is_file():
        wanted = _current_file(paths).read_text().strip() or None
    if wanted is None:
        return None
    record = load_drill(paths, wanted)
    if record is not None and st.query_params.get(DRILL_PARAM) != record.drill_id:
        st.query_params[DRILL_PARAM] = record.drill_id  # a refresh of this tab keeps it
    return record


def set_current_drill(paths: SimulatorPaths, drill_id: str) -> None:
    """Remember the drill in the URL and on disk (a new tab or a restart finds it too)."""
    write_atomically(_current_file(paths), drill_id + "\n")
    st.query_params[DRILL_PARAM] = drill_id


def forget_current_drill(paths: SimulatorPaths) -> None:
    """No current drill any more: the Drill page offers to start one."""
    _current_file(paths).unlink(missing_ok=True)
    if DRILL_PARAM in st.query_params:
        del st.query_params[DRILL_PARAM]


def score_text(record: DrillRecord) -> str:
    if record.score is None:
        return "not scored yet"
    return f"{record.score.total:g} / {record.score.max_total:g}"
