"""`make site`: the lessons and documents build into a static site with `mkdocs build --strict`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from docs.site import Page, rewrite_links, stage_site
from phase1_foundations.settings import PROJECT_ROOT

MKDOCS = Path(sys.executable).parent / "mkdocs"
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def build(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "-f", str(config)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_site_builds_strictly_with_every_lesson(tmp_path: Path) -> None:
    pages = stage_site(tmp_path / "src", tmp_path / "site")
    done = build(tmp_path / "src" / "mkdocs.yml")
    assert done.returncode == 0, done.stderr
    assert "WARNING -" not in done.stderr
    site = tmp_path / "site"
    lessons = sorted(p.parent.name for p in PROJECT_ROOT.glob("phase*_*/README.md"))
    lessons.append("simulator")
    assert len(lessons) >= 6
    for lesson in lessons:
        assert (site / f"{lesson}.html").exists()
    for page in pages:
        assert (site / page.site.replace(".md", ".html")).exists()
    assert len(list((site / "decisions").glob("0*.html"))) >= 8
    # The course map's links to the lessons lead to the lesson pages.
    index = (site / "index.html").read_text()
    for lesson in lessons:
        assert re.search(rf'href="{lesson}\.html"', index), lesson


def test_make_site_builds_into_the_given_folder(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "site",
            f"SITE_SRC={tmp_path / 'src'}",
            f"SITE_DIR={tmp_path / 'site'}",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING -" not in done.stdout + done.stderr
    assert (tmp_path / "site" / "documents.html").exists()
    assert (tmp_path / "site" / "decisions" / "0002-promotion-metric-margin-and-test.html").exists()


def test_a_broken_link_fails_the_strict_build(tmp_path: Path) -> None:
    stage_site(tmp_path / "src", tmp_path / "site")
    page = tmp_path / "src" / "pages" / "design.md"
    page.write_text(page.read_text() + "\n[gone](no-such-page.md)\n")
    done = build(tmp_path / "src" / "mkdocs.yml")
    assert done.returncode != 0
    assert "no-such-page.md" in done.stderr


def test_links_are_rewritten_to_the_staged_pages() -> None:
    page = Page("phase2_pipelines/README.md", "phase2_pipelines.md", "Phase 2")
    by_source = {"docs/design.md": "design.md", "phase3_serving/README.md": "phase3_serving.md"}
    text = "[design](../docs/design.md#data) [next](../phase3_serving/README.md) [g](gate.py)"
    assert rewrite_links(text, page, by_source) == (
        "[design](design.md#data) [next](phase3_serving.md) g (`phase2_pipelines/gate.py`)"
    )


def test_site_serve_answers_on_loopback(tmp_path: Path) -> None:
    """`make site-serve` (mkdocs serve) on 127.0.0.1, started and stopped by the test."""
    from phase1_foundations.ports import free_port

    stage_site(tmp_path / "src", tmp_path / "site")
    port = free_port()
    server = subprocess.Popen(
        [
            str(MKDOCS),
            "serve",
            "--dev-addr",
            f"127.0.0.1:{port}",
            "-f",
            str(tmp_path / "src" / "mkdocs.yml"),
        ],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = ""
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    body = response.read().decode()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                time.sleep(0.5)
        assert "MLOps Path" in body
    finally:
        server.terminate()
        server.wait(timeout=30)
