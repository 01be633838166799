"""``make simulator`` in a real headless Chromium: start a drill, play it to its score, look.

The real app (the make target, on a free port of 127.0.0.1, with a tmp state directory) is
driven through Debian's chromium and chromium-driver by selenium, the way a user clicks. The
oracle is the drill record the engine wrote on disk. A screenshot of the scored drill is saved
under the test's tmp dir and copied to build/screenshots/ for people to look at.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from phase1_foundations.ports import free_port
from phase1_foundations.settings import PROJECT_ROOT
from simulator.tests import app_support

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOT = PROJECT_ROOT / "build" / "screenshots" / "simulator-drill.png"
SCENARIO = "null_flood"
DECLARED = ("data quality", "null flood", "quarantine hotfix")  # typed into each selectbox
APP_START_S = 180  # make data, then streamlit, then the first page's imports
DRILL_STEP_S = 420  # a drill's start trains and serves its first champion
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,2200",
)


@pytest.fixture
def app_url(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``make simulator`` on a free port; its URL once it printed it, and its state dir."""
    port, state, log = free_port(), tmp_path / "state", tmp_path / "simulator.log"
    template = app_support.bootstrapped_state(tmp_path_factory.getbasetemp())
    app_support.seed_state(template, state)
    env = {**os.environ, "MLOPS_STATE_DIR": str(state)}
    with log.open("w") as out:
        server = subprocess.Popen(
            ["make", "--no-print-directory", "simulator", f"SIMULATOR_PORT={port}"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make, the shell it execs into streamlit: one group
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + APP_START_S
        while f"URL: {url}" not in log.read_text():
            assert server.poll() is None, f"make simulator exited:\n{log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"no URL printed:\n{log.read_text()[-2000:]}"
            time.sleep(0.5)
        yield url, state
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or ""
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    service = Service(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


def _text_shows(driver: WebDriver, text: str, seconds: float) -> None:
    """Wait for ``text``; fail at once, with the page's words, if the app shows an error."""

    def shown(d: WebDriver) -> bool:
        alerts = d.find_elements(
            By.CSS_SELECTOR, "[data-testid='stException'], [data-testid='stAlertContainer']"
        )
        problems = [a.text for a in alerts if "Error" in a.text or "Exception" in a.text]
        assert not problems, f"the app shows an error: {problems[0][:500]}"
        return text in d.find_element(By.TAG_NAME, "body").text

    WebDriverWait(driver, seconds, poll_frequency=0.5).until(
        shown, message=f"{text!r} never showed"
    )


def _click(driver: WebDriver, label: str, seconds: float = 60) -> None:
    xpath = f"//button[normalize-space(.)='{label}']"

    def enabled(d: WebDriver) -> WebElement | bool:
        found = [b for b in d.find_elements(By.XPATH, xpath) if b.is_enabled()]
        return found[0] if found else False

    button = WebDriverWait(driver, seconds, poll_frequency=0.5).until(
        enabled, message=f"no button {label!r}"
    )
    assert isinstance(button, WebElement)
    button.click()


def _type_seed(driver: WebDriver, seed: int) -> None:
    """Type the seed once its box is drawn: Streamlit draws a page's widgets after its headings,
    so the start page's heading can show before the box exists (a loaded machine saw it)."""
    selector = "[data-testid='stTextInput'] input"
    box = WebDriverWait(driver, 60, poll_frequency=0.5).until(
        lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, selector)), False),
        message="no seed box",
    )
    assert isinstance(box, WebElement)
    box.send_keys(str(seed))


def _choose(driver: WebDriver, index: int, typed: str) -> None:
    """Type into the index-th selectbox to filter its options, then take the first match."""
    selector = "[data-testid='stSelectbox'] input"
    WebDriverWait(driver, 60, poll_frequency=0.5).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, selector)) > index,
        message=f"no selectbox number {index + 1}",
    )
    box = driver.find_elements(By.CSS_SELECTOR, selector)[index]
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(typed)
    WebDriverWait(driver, 30, poll_frequency=0.2).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "[role='option']"),
        message=f"no option matches {typed!r}",
    )
    box.send_keys(Keys.ENTER)
    chosen = box.get_attribute("value") or ""
    assert chosen.startswith(typed), f"selectbox {index + 1} shows {chosen!r}, not {typed!r}"


def _record(state: Path) -> dict[str, object]:
    records = sorted((state / "simulator" / "drills").glob("*/record.json"))
    assert len(records) == 1, records
    loaded: dict[str, object] = json.loads(records[0].read_text())
    return loaded


def test_a_drill_played_in_chromium_reaches_its_score(
    app_url: tuple[str, Path], browser: WebDriver, tmp_path: Path
) -> None:
    url, state = app_url
    browser.get(url)
    _text_shows(browser, "Start a drill", APP_START_S)
    _choose(browser, 0, SCENARIO)
    _type_seed(browser, app_support.SEED)
    _click(browser, "Start the drill")
    _text_shows(browser, "Week 0 of", DRILL_STEP_S)
    _click(browser, "Advance one week")
    _text_shows(browser, "Week 1 of", DRILL_STEP_S)

    browser.refresh()  # the drill is on disk and in the URL: a refresh loses nothing
    _text_shows(browser, "Week 1 of", APP_START_S)
    assert f"drill={_record(state)['drill_id']}" in browser.current_url

    for index, typed in enumerate(DECLARED):
        _choose(browser, index, typed)
    _click(browser, "Declare")
    WebDriverWait(browser, 60, poll_frequency=0.5).until(
        lambda _: _record(state)["declarations"], message="the declaration never reached disk"
    )
    _click(browser, "Play to the end and score")
    _text_shows(browser, "Scenario:", DRILL_STEP_S)

    record = _record(state)
    assert record["finished_at"] is not None
    declared = record["declarations"][0]  # type: ignore[index]
    assert (declared["signal"], declared["root_cause"], declared["response"]) == (
        "data_quality",
        "null_flood",
        "quarantine_hotfix",
    )
    parts = record["score"]["parts"]  # type: ignore[index]
    total = sum(part["points"] for part in parts)
    most = sum(part["max_points"] for part in parts)
    shown = browser.find_element(By.CSS_SELECTOR, "[data-testid='stMetricValue']").text
    assert shown == f"{total:g} / {most:g}"  # the page shows the engine's score

    browser.execute_script("window.scrollTo(0, 0)")
    time.sleep(1)  # let the charts finish drawing before the picture
    picture = tmp_path / "simulator-drill.png"
    assert browser.save_screenshot(str(picture))
    assert picture.stat().st_size > 10_000  # a drawn page, not a blank one
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(picture, SCREENSHOT)


def test_a_hidden_drill_shows_no_scenario_in_its_page_url_or_title(
    app_url: tuple[str, Path], browser: WebDriver, tmp_path: Path
) -> None:
    """Before it is scored a hidden drill is hidden everywhere a user or a script could look:
    the page's words and its HTML (element ids included), the URL and the window title; and at
    1,400 px nothing runs off the side of the page."""
    url, state = app_url
    browser.get(url)
    _text_shows(browser, "Start a drill", APP_START_S)
    _type_seed(browser, app_support.SEED)  # the scenario stays on its hidden default
    _click(browser, "Start the drill")
    _text_shows(browser, "Week 0 of", DRILL_STEP_S)
    _click(browser, "Advance one week")
    _text_shows(browser, "Week 1 of", DRILL_STEP_S)
    _click(browser, "Advance one week")
    _text_shows(browser, "Week 2 of", DRILL_STEP_S)
    time.sleep(2)  # the dashboards' charts draw after the text
    record = _record(state)
    scenario, title = str(record["scenario"]), str(record["title"])
    assert f"drill={record['drill_id']}" in browser.current_url
    looked_at = {
        "url": browser.current_url,
        "title": browser.title,
        "page": browser.find_element(By.TAG_NAME, "body").text,
        "html": browser.page_source,
    }
    for where, text in looked_at.items():
        for secret in (scenario, title):
            assert secret not in text, f"{secret!r} is in the {where} before the drill is scored"
    spare = browser.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth"
    )
    assert spare <= 0, f"the page is {spare} px wider than the 1,400 px window"
    picture = tmp_path / "simulator-hidden-drill.png"
    assert browser.save_screenshot(str(picture))
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(picture, SCREENSHOT.with_name("simulator-hidden-drill.png"))
    _click(browser, "Play to the end and score")
    _text_shows(browser, f"Scenario: {title}", DRILL_STEP_S)  # revealed once scored
