"""The web console in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, installed by ``.ci/run``) loads the console of a virtual run, the charts
update, and the Stop button stops the run with exit status 3. Every wait is on a condition
(WebDriverWait), never a sleep. Screenshots go in the test's temporary directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from hil.store.run_directory import read_events, read_metadata
from tests.system.test_console import WAIT_S, start_console_run

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)


DRAWN = "return document.body.dataset.drawn === document.body.dataset.sequence"
"""The page has drawn the last frame it received (it draws at most four times a second)."""


def b_text(browser, element_id: str) -> str:  # type: ignore[no-untyped-def]
    return str(browser.find_element(By.ID, element_id).text)


@pytest.fixture
def browser(tmp_path: Path):  # type: ignore[no-untyped-def]
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1500,1300",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_the_console_page_shows_the_run_live_and_its_stop_button_stops_it(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # an hour of averaging at each point: however fast the virtual bench, the run is still going when
    # the test presses Stop (the points table is checked over the stream in test_console.py)
    process, url, token = start_console_run(tmp_path / "runs", "-p", "dwell_s=3600")
    wait = WebDriverWait(browser, WAIT_S, poll_frequency=0.05)
    try:
        browser.get(f"{url}#token={token}")
        wait.until(lambda b: b.execute_script("return document.body.dataset.status") == "running")
        wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".chart canvas")) >= 6)
        groups = browser.execute_script(
            "return [...document.querySelectorAll('.chart')].map(e => e.dataset.group)"
        )
        assert {"speed", "pressures", "flow", "electrical power", "currents", "temperatures"} <= set(groups)

        # The charts update: more rows arrive and the speed chart's pixels change.
        speed_canvas = "return document.querySelector('.chart[data-group=speed] canvas').toDataURL()"
        rows = int(browser.execute_script("return document.body.dataset.rows"))
        before = browser.execute_script(speed_canvas)
        wait.until(lambda b: int(b.execute_script("return document.body.dataset.rows")) > rows + 20)
        wait.until(lambda b: b.execute_script(speed_canvas) != before)

        # Readings with margins to the limits, the steady-state judgement, progress.
        wait.until(lambda b: b_text(b, "steady-verdict").startswith("steady"))
        readings = browser.find_element(By.ID, "readings").text
        assert "speed_rpm" in readings and "\u2264 33000" in readings  # the bench limit beside the value
        assert "time left" in browser.find_element(By.ID, "clock").text
        wait.until(lambda b: b.execute_script(DRAWN))
        browser.save_screenshot(str(tmp_path / "console-live.png"))
        assert browser.execute_script("return document.body.dataset.closed") is None

        browser.find_element(By.ID, "stop").click()
        wait.until(lambda b: b.find_element(By.ID, "banner").is_displayed())
        wait.until(lambda b: "OPERATOR STOP" in b.find_element(By.ID, "banner").text)
        wait.until(lambda b: b.execute_script("return document.body.dataset.status") == "aborted")
        wait.until(lambda b: b.execute_script(DRAWN))
        assert b_text(browser, "status").startswith("aborted")
        assert not browser.find_element(By.ID, "stop").is_enabled()
        browser.save_screenshot(str(tmp_path / "console-stopped.png"))
        process.communicate(timeout=WAIT_S)
        assert process.returncode == 3
    finally:
        if process.poll() is None:
            process.kill()
        print("hil run stderr:", process.communicate()[1])  # shown if the test fails
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]  # beside the catalogue
    assert read_metadata(run_dir)["status"] == "aborted"
    (stop,) = [e for e in read_events(run_dir) if e["kind"] == "operator_stop"]
    assert stop["reason"].startswith("stop from the console")
