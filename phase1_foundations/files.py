"""Writing a text file so that a reader, or a rerun after a kill, sees the old file or the new one,
never half of one: the one owner of that job for every phase (the service's shared plan and
evidence, the capstone's step outcomes and timeline, the simulator's records).

The text goes to a hidden sibling named uniquely per call (a uuid: two threads of one process,
such as two Streamlit sessions, never share it), which is then renamed over the target; a rename
within one directory is atomic. A process killed before the rename leaves the target as it was
and a hidden ``.partial`` file beside it. ``durable`` adds an ``fsync`` before the rename, for
state that must outlive a crash of the machine, not only of the process (the capstone's run
state); the service's evidence, rewritten several times a second and worthless after a restart,
does without.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

PARTIAL_SUFFIX = ".partial"


def write_atomically(path: Path, text: str, *, durable: bool = False) -> None:
    """Replace ``path`` with ``text`` in one step (its folder is made if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}{PARTIAL_SUFFIX}")
    try:
        with partial.open("w") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
