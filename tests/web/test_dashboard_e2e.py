"""The dashboard end to end in real headless Chromium: sign in, plan, map, approve, roster."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
uvicorn = pytest.importorskip("uvicorn")

from web.conftest import PASSWORD, make_app  # noqa: E402

CHROMIUM = os.environ.get("CITYWATCH_TEST_CHROMIUM") or shutil.which("chromium") or ""
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(os.environ.get("CITYWATCH_SCREENSHOTS", "")) if os.environ.get(
    "CITYWATCH_SCREENSHOTS") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The app with the built-in London scenario, served by uvicorn on loopback."""
    app = make_app(tmp_path, executor=ThreadPoolExecutor(2), london=True)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM or not Path(CHROMIUM).exists():
        if os.environ.get("CITYWATCH_REQUIRE_CHROMIUM"):
            pytest.fail("CITYWATCH_REQUIRE_CHROMIUM is set but no chromium was found")
        pytest.skip("chromium not installed (set CITYWATCH_TEST_CHROMIUM)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _until(condition: object, timeout: float = 20.0) -> None:
    """Poll `condition` (the page's CSP forbids wait_for_function's eval)."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def _sign_in(page: object, name: str) -> None:
    page.fill("#login-name", name)  # type: ignore[attr-defined]
    page.fill("#login-password", PASSWORD)  # type: ignore[attr-defined]
    page.click("#login-btn")  # type: ignore[attr-defined]
    page.wait_for_selector("#map path.cw-site")  # type: ignore[attr-defined]


def test_plan_approve_and_download_roster(server: str, browser: object,
                                          tmp_path: Path) -> None:
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000},  # type: ignore[attr-defined]
                              accept_downloads=True)
    page = ctx.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/")
    assert "OFFICIAL-SENSITIVE" in page.inner_text("#marking-top")

    # a planner runs a plan; the map draws the 33 borough boundaries and the Thames,
    # colours sites by coverage and shows ARV posts and response-time cells
    _sign_in(page, "planner")
    assert page.locator("#map path.cw-site").count() > 100
    assert page.locator("#map path.cw-zone").count() == 33
    page.click("#run-plan")
    expect(page.locator("#plan-status")).to_contain_text("done", timeout=900_000)
    page.wait_for_selector("#map .cw-arv")
    page.wait_for_selector(".cw-legend")
    assert page.locator("#map path.cw-zone").count() == 33
    assert page.locator(".leaflet-control-scale-line").count() == 1
    assert "Crown copyright" in page.inner_text(".leaflet-control-attribution")
    assert "Minutes from call to armed help" in page.inner_text(".cw-legend")
    fills = page.eval_on_selector_all("#map path.cw-site",
                                      "e => e.map(c => c.getAttribute('fill'))")
    assert len(set(fills)) > 3 and all(f.startswith("#") for f in fills)
    assert "coverage" in page.inner_text("#site-list")
    # hover details on a borough
    page.hover("#map path.cw-zone >> nth=0", force=True)
    page.wait_for_selector(".leaflet-tooltip")
    assert "call to armed help" in page.inner_text(".leaflet-tooltip")
    zoom = page.evaluate("window.cwMapView.map.getZoom()")
    page.click(".leaflet-control-zoom-in")
    _until(lambda: page.evaluate("window.cwMapView.map.getZoom()") > zoom)
    page.click(".leaflet-control-zoom-out")
    shot = (SCREENSHOTS or tmp_path) / "dashboard-map.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.locator("#map").screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    page.select_option("#slot", index=0)
    assert page.locator("#map path.cw-site").count() > 100

    # what-if: more officers, re-plan and compare
    page.fill("#whatif-officers", "300")
    page.click("#whatif-run")
    page.wait_for_selector("#whatif-table", timeout=900_000)
    assert "+300 armed officers" in page.inner_text("#whatif-result")

    # an approver approves it and downloads the roster
    page.evaluate("logout()")
    _sign_in(page, "approver")
    page.wait_for_selector("#approve:not([hidden])")
    page.click("#approve")
    page.wait_for_selector("#approved-flag")
    page.fill("#roster-days", "2")
    page.click("#roster-gen")
    page.wait_for_selector("#roster-download:not([disabled])", timeout=900_000)
    with page.expect_download() as info:
        page.click("#roster-download")
    target = tmp_path / "roster.csv"
    info.value.save_as(target)
    text = target.read_text()
    assert text.startswith("# OFFICIAL-SENSITIVE\nmission_id,team")
    assert len(text.splitlines()) > 10

    shot = (SCREENSHOTS or tmp_path) / "dashboard.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert not errors, errors
    # fully offline: nothing but the app itself was requested
    assert all(u.startswith(server) or u.startswith("blob:") for u in requests), requests

    # a viewer sees the map but no roster or approval controls, and is told so
    page.evaluate("logout()")
    _sign_in(page, "viewer")
    assert page.locator(".roster-only").first.is_hidden()
    assert page.locator("#approve").is_hidden()
    assert "You may not run plans" in page.inner_text("#role-note")

    # the admin gets the user-management screen (no empty map), creates a planner,
    # changes a role, disables and re-enables an account
    page.evaluate("logout()")
    page.fill("#login-name", "admin")
    page.fill("#login-password", PASSWORD)
    page.click("#login-btn")
    page.wait_for_selector("#users-table tr[data-user='viewer']")
    assert page.locator("#app").is_hidden()
    assert "You may not see scenarios" in page.inner_text("#role-note")
    page.fill("#new-user-name", "newplanner")
    page.fill("#new-user-password", "another long password")
    page.select_option("#new-user-role", "planner")
    page.click("#user-create-btn")
    page.wait_for_selector("#users-table tr[data-user='newplanner']")
    row = "#users-table tr[data-user='viewer']"
    page.select_option(row + " select.user-role", "approver")
    expect(page.locator("#users-status")).to_contain_text("done")
    page.wait_for_selector(row + " button.user-toggle")
    page.click(row + " button.user-toggle")
    expect(page.locator(row + " .user-status")).to_contain_text("disabled")
    page.click(row + " button.user-toggle")
    expect(page.locator(row + " .user-status")).to_contain_text("active")
    assert page.locator(row + " select.user-role").input_value() == "approver"
    shot = (SCREENSHOTS or tmp_path) / "dashboard-admin.png"
    page.screenshot(path=str(shot), full_page=True)

    # the new planner signs in and sees the map
    page.evaluate("logout()")
    page.fill("#login-name", "newplanner")
    page.fill("#login-password", "another long password")
    page.click("#login-btn")
    page.wait_for_selector("#map path.cw-site")
    assert not errors, errors
    ctx.close()
