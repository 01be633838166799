"""Stop signals as a fresh process has them, for the servers tests start (root conftest.py)."""

from __future__ import annotations

import signal

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def restore_stop_signals() -> None:
    """Unblock Ctrl-C and SIGTERM and undo an ignore: a child inherits both, so a server a test
    starts would not stop when the test signals it. One pytest worker runs many modules in one
    process, and libraries leave stop signals ignored there: DVC 3 ignores SIGINT while it runs a
    stage and does not restore a SIG_DFL handler, and Dagster copies SIGINT's handler to SIGTERM."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
