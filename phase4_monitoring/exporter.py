"""A small Prometheus exporter: serves the monitor's latest metrics file at ``/metrics``.

``python -m phase4_monitoring check ... --metrics FILE`` writes the file after each window;
``python -m phase4_monitoring exporter --textfile FILE`` serves it on 127.0.0.1 for Prometheus
to scrape. The file is re-read on every scrape, so a new window shows at the next scrape.
``churn_monitor_textfile_present`` is 0 while no window has been checked yet.
"""

from __future__ import annotations

import contextlib
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PRESENT = "churn_monitor_textfile_present"


def exposition(textfile: Path) -> str:
    """The file's metrics and whether it exists; a missing file is news, not an error."""
    try:
        text = textfile.read_text()
    except FileNotFoundError:
        text = ""
    present = 1 if text else 0
    header = f"# HELP {PRESENT} 1 when the monitor has written its metrics file.\n"
    return f"{header}# TYPE {PRESENT} gauge\n{PRESENT} {present}\n{text}"


class _Handler(BaseHTTPRequestHandler):
    def __init__(self, textfile: Path, *args: object) -> None:
        self.textfile = textfile
        super().__init__(*args)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/metrics":
            self.send_error(404, "only /metrics is served here")
            return
        body = exposition(self.textfile).encode()
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()  # the scraper gave up (its timeout); the next scrape reads the file

    def log_message(self, format: str, *args: object) -> None:
        """Scrapes every few seconds are not news."""


def make_server(textfile: Path, host: str, port: int) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), partial(_Handler, textfile))


def serve(textfile: Path, host: str, port: int) -> None:
    server = make_server(textfile, host, port)
    print(f"serving {textfile} at http://{host}:{server.server_port}/metrics", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
