"""``files.write_atomically``: a reader, a rerun after a kill, or another thread sees the old file
or the new one, never half of one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from phase1_foundations import files
from phase1_foundations.files import PARTIAL_SUFFIX, write_atomically

# A child process that rewrites one file with two large payloads in turn, forever.
WRITER = (
    "import sys; from pathlib import Path; from phase1_foundations.files import write_atomically\n"
    "target, a, b = Path(sys.argv[1]), 'a' * 4_000_000, 'b' * 4_000_000\n"
    "while True:\n"
    "    write_atomically(target, a, durable=True); write_atomically(target, b)\n"
)


def _partials(folder: Path) -> list[Path]:
    return sorted(folder.glob(f".*{PARTIAL_SUFFIX}"))


def test_writes_the_text_and_makes_its_folder(tmp_path: Path) -> None:
    target = tmp_path / "new" / "folder" / "state.json"
    write_atomically(target, '{"week": 3}')
    assert target.read_text() == '{"week": 3}'
    write_atomically(target, "again")
    assert target.read_text() == "again"
    assert _partials(target.parent) == []


@pytest.mark.parametrize("durable", [False, True])
def test_a_write_that_fails_before_its_rename_leaves_the_old_file_and_no_partial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool
) -> None:
    target = tmp_path / "plan.json"
    write_atomically(target, "old")

    def fail(self: Path, other: Path) -> Path:
        raise OSError("the disk went away")

    monkeypatch.setattr(Path, "replace", fail)
    with pytest.raises(OSError, match="the disk went away"):
        write_atomically(target, "new", durable=durable)
    assert target.read_text() == "old"
    assert _partials(tmp_path) == []


@pytest.mark.parametrize("durable", [False, True])
def test_only_a_durable_write_syncs_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(files.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    write_atomically(tmp_path / "outcome.json", "{}", durable=durable)
    assert len(synced) == (1 if durable else 0)


def test_threads_writing_one_file_never_tear_it(tmp_path: Path) -> None:
    """Two Streamlit sessions are two threads of one process: a temporary name per process
    (the simulator's old one) let them write into the same hidden file at once."""
    target = tmp_path / "current-drill"
    payloads = [str(n) * 200_000 for n in range(8)]
    torn: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def writer(text: str) -> None:
        try:
            for _ in range(25):
                write_atomically(target, text)
        except BaseException as error:  # reported by the test below
            errors.append(error)

    def reader() -> None:
        while not done.is_set():
            if target.exists():
                text = target.read_text()
                if text not in payloads:
                    torn.append(len(text))

    watcher = threading.Thread(target=reader)
    watcher.start()
    threads = [threading.Thread(target=writer, args=(text,)) for text in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()
    assert errors == []
    assert torn == []
    assert target.read_text() in payloads
    assert _partials(tmp_path) == []


def test_a_writer_killed_at_random_moments_leaves_a_whole_file(tmp_path: Path) -> None:
    """SIGKILL at seeded moments of a process that rewrites a 4 MB file without pause: what is
    left is always one whole payload (the kill leaves at most a hidden partial beside it)."""
    target = tmp_path / "timeline.html"
    rng = np.random.default_rng(20)
    whole = {"a" * 4_000_000, "b" * 4_000_000}
    for delay in rng.uniform(0.0, 1.0, 8):
        process = subprocess.Popen([sys.executable, "-c", WRITER, str(target)])
        deadline = time.monotonic() + 60
        while not target.exists():  # the first process's first write (start-up is not timed)
            assert process.poll() is None, "the writer stopped on its own"
            assert time.monotonic() < deadline, "the writer wrote nothing in a minute"
            time.sleep(0.01)
        time.sleep(float(delay))
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert target.read_text() in whole, f"a torn file after a kill at {delay:.2f} s"
    assert len(_partials(tmp_path)) <= 8  # one per kill at most, hidden; the target is whole
