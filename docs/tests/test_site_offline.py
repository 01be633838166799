"""The course site works offline: no page loads anything from outside the site.

``make site`` builds it; a server on 127.0.0.1 serves it; Debian's headless Chromium opens every
page with the network cut off (a dead proxy, and every host name unresolvable) and records every
request it tries in Chromium's own net log (``--log-net-log``). The oracle is that log, not our
code: every URL in it must be the site's. A control page that does load from a CDN shows that
the log records such a request, so the check can fail. The phase-2 lesson's Mermaid diagram must
be drawn, as an SVG, from the site's own copy of Mermaid.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from phase1_foundations.settings import PROJECT_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CUT_OFF = (  # nothing outside this machine answers; loopback is never proxied
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)
CHROMIUM_FLAGS = (  # env notes: the flags that keep Chromium's own background traffic off
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Chromium asks Google about each page's forms (autofill) with the page's isolation key:
    # the browser's request, not the page's.
    "--disable-features=AutofillServerCommunication,OptimizationHints,Translate,MediaRouter",
    "--window-size=1280,2000",
)
DIAGRAM_PAGE = "phase2_pipelines.html"
DIAGRAM_WORDS = ("make model-report", "REJECT")  # labels of the lesson's CI diagram
URL = re.compile(r"^(https?|wss?)://")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on the test's output."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        ["make", "--no-print-directory", "site", f"SITE_SRC={out}/src", f"SITE_DIR={out}/site"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out / "site"


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """A static file server for ``directory`` on 127.0.0.1; its origin."""
    handler = functools.partial(_Quiet, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def origin(site: Path) -> Iterator[str]:
    with serve(site) as url:
        yield url


def chromium(profile: Path, net_log: Path) -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or ""
    for flag in (
        *CHROMIUM_FLAGS,
        *CUT_OFF,
        f"--user-data-dir={profile}",
        f"--log-net-log={net_log}",
        "--net-log-capture-mode=Everything",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    driver.set_page_load_timeout(60)
    return driver


def page_requests(net_log: Path, site: str) -> set[str]:
    """Every URL a page of ``site`` asked for, as Chromium's network stack logged it (read after
    the browser quit). A request is the pages' when a page initiated it, or when it was made for
    a top frame of the site (its network isolation key); Chromium's own background requests
    (update checks, the clock, a search engine's preconnect) are neither, and are left out."""
    text = net_log.read_text()
    try:
        log = json.loads(text)
    except json.JSONDecodeError:  # a log cut short: close its event list
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    scheme_and_host = site.rsplit(":", 1)[0]  # isolation keys name the site, without the port
    urls = set()
    for event in log.get("events", []):
        params = event.get("params") or {}
        if event.get("type") != start_job or not URL.match(params.get("url", "")):
            continue
        top_frame = str(params.get("network_isolation_key", "")).split(" ")[0]
        if str(params.get("initiator", "")).startswith(site) or top_frame == scheme_and_host:
            urls.add(params["url"])
    return urls


class _Loads(HTMLParser):
    """What a page loads by itself (scripts, styles, fonts, images, frames, preconnects)."""

    LOADING: ClassVar[set[str]] = {
        "script",
        "link",
        "img",
        "iframe",
        "source",
        "video",
        "audio",
        "embed",
        "object",
    }

    LOADING_RELS: ClassVar[set[str]] = {
        "stylesheet", "preconnect", "dns-prefetch", "preload", "prefetch", "icon", "modulepreload",
    }  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.LOADING:
            return
        named = dict(attrs)
        rel = set((named.get("rel") or "").split())
        if tag == "link" and not rel & self.LOADING_RELS:
            return  # a link to another document, not a load
        for key in ("src", "href", "data", "srcset"):
            value = named.get(key) or ""
            if URL.match(value) or value.startswith("//"):
                self.urls.append(value)


def static_loads(page: Path) -> list[str]:
    parser = _Loads()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.urls


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A DOM node and everything under it, shadow roots (closed ones too) included."""
    yield node
    for key in ("children", "shadowRoots"):
        for child in node.get(key, []):
            yield from _nodes(child)
    if "contentDocument" in node:
        yield from _nodes(node["contentDocument"])


def mermaid_svgs(driver: WebDriver) -> list[str]:
    """The outer HTML of every SVG Mermaid drew. The theme puts each in a closed shadow root,
    which page scripts cannot read; the DevTools protocol can."""
    document = driver.execute_cdp_cmd("DOM.getDocument", {"depth": -1, "pierce": True})
    found = []
    for node in _nodes(document["root"]):
        attributes = node.get("attributes", [])
        named = dict(zip(attributes[::2], attributes[1::2], strict=True))
        if node.get("localName") == "svg" and named.get("id", "").startswith("__mermaid_"):
            html = driver.execute_cdp_cmd("DOM.getOuterHTML", {"nodeId": node["nodeId"]})
            found.append(str(html["outerHTML"]))
    return found


def test_the_checks_see_a_page_that_loads_from_a_cdn(tmp_path: Path) -> None:
    """The control: what the theme does without our copy of Mermaid and with Google's fonts."""
    served = tmp_path / "control"
    served.mkdir()
    (served / "control.html").write_text(
        '<html><head><link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">'
        "</head><body>control<script>const s = document.createElement('script');"
        " s.src = 'https://unpkg.com/mermaid@11/dist/mermaid.min.js';"
        " document.body.appendChild(s);</script></body></html>"
    )
    assert static_loads(served / "control.html") == [
        "https://fonts.googleapis.com/css?family=Roboto"
    ]
    net_log = tmp_path / "net-log.json"
    with serve(served) as origin:
        driver = chromium(tmp_path / "profile", net_log)
        try:
            driver.get(f"{origin}/control.html")
            time.sleep(2)  # the inserted script's request starts after the load event
        finally:
            driver.quit()
        urls = page_requests(net_log, origin)
    assert f"{origin}/control.html" in urls
    assert any(url.startswith("https://unpkg.com/mermaid@11/") for url in urls), urls
    assert any(url.startswith("https://fonts.googleapis.com/") for url in urls), urls


def test_every_page_loads_only_from_the_site_and_draws_its_diagram(
    site: Path, origin: str, tmp_path: Path
) -> None:
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert DIAGRAM_PAGE in pages
    assert {page: static_loads(site / page) for page in pages} == {page: [] for page in pages}
    assert (site / "assets" / "javascripts" / "mermaid.min.js").is_file()
    net_log = tmp_path / "net-log.json"
    driver = chromium(tmp_path / "profile", net_log)
    try:
        svgs: list[str] = []
        for page in pages:
            driver.get(f"{origin}/{page}")
            if page == DIAGRAM_PAGE:
                WebDriverWait(driver, 60, poll_frequency=0.5).until(
                    lambda d: mermaid_svgs(d), message="Mermaid drew no diagram, offline"
                )
                svgs = mermaid_svgs(driver)
    finally:
        driver.quit()
    assert svgs
    for word in DIAGRAM_WORDS:
        assert any(word in svg for svg in svgs), f"{word!r} is not in the drawn diagram"
    urls = page_requests(net_log, origin)
    assert f"{origin}/{DIAGRAM_PAGE}" in urls  # the log sees the site's own requests ...
    assert f"{origin}/assets/javascripts/mermaid.min.js" in urls
    outside = sorted(url for url in urls if not url.startswith(f"{origin}/"))
    assert outside == []  # ... and nothing else
