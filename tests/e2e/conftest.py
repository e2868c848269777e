"""Real-browser fixtures: the real app in a subprocess and Debian's headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DOC_SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    """Skip without Chromium (a newcomer's `uv run pytest`), fail under REQUIRE_BROWSER=1 (CI)."""
    if Path(CHROMIUM).exists():
        return
    reason = (
        f"Chromium not found at {CHROMIUM}: browser tests skipped (install Debian's chromium "
        "or set CHROMIUM_PATH; REQUIRE_BROWSER=1 makes this a failure; .ci/run installs it)"
    )
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Every `browser`-marked test needs Chromium, before its app or fixtures start."""
    if item.get_closest_marker("browser") is not None:
        require_chromium()


def save_screenshot(page: Page, name: str, full_page: bool = True) -> None:
    """Keep a screenshot (the whole page, or with `full_page=False` the viewport as it is) in
    test-artifacts/; also refresh docs/screenshots/ when UPDATE_SCREENSHOTS=1 (so a normal test
    run leaves the committed pictures alone)."""
    page.mouse.move(1, 1)  # no hover tooltips in the picture
    page.wait_for_timeout(400)  # let transitions settle
    if full_page:  # from the top: a full-page shot of a scrolled page draws the header mid-page
        page.evaluate("window.scrollTo(0, 0)")
    targets = [ARTIFACTS]
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        targets.append(DOC_SCREENSHOTS)
    for folder in targets:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / name), full_page=full_page)


def sign_up(page: Page, url: str, name: str, password: str = "password123") -> None:
    """Create an account through the sign-up form and wait for the dashboard."""
    page.goto(f"{url}/register")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Confirm password").fill(password)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text(f"Welcome, {name}")).to_be_visible(timeout=20_000)


@dataclass
class AppServer:
    """A running app: its base URL, data dir and log file."""

    url: str
    data_dir: Path
    log_path: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# A loaded CI machine (2 cores, several suites) starts slowly; E2E_APP_START_SECONDS overrides.
APP_START_SECONDS = float(os.environ.get("E2E_APP_START_SECONDS", "120"))


def spawn_app(folder: Path, **env: str) -> tuple[subprocess.Popen, AppServer]:
    """Start `main.py` as a subprocess (demo mode, fresh SQLite unless `env` says otherwise)
    and wait for its /health; the caller stops the process (`stop_processes`)."""
    port = _free_port()
    data_dir = folder / f"app-{port}"
    log_path = folder / f"app-{port}.log"
    # Drop pytest's markers (NiceGUI would think it runs inside a test) and our test DB.
    child_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "NICEGUI_"))
        and k not in {"OPENAI_API_KEY", "OPENAI_BASE_URL", "DATABASE_URL"}
    }
    child_env["SIMULATOR_TOKENS_PER_SECOND"] = "0"  # full speed unless a test asks
    child_env["RENDER_WORKER_PRESTART"] = "true"  # as a real start-up does
    child_env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        DATA_DIR=str(data_dir),
        BCRYPT_ROUNDS="4",
        SECRET_KEY="e2e-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        **env,
    )
    process = subprocess.Popen(
        [sys.executable, "main.py"],
        cwd=ROOT,
        env=child_env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + APP_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app exited early:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, AppServer(url, data_dir, log_path)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"app did not answer /health:\n{log_path.read_text()[-3000:]}")


def stop_processes(processes: list[subprocess.Popen]) -> None:
    """SIGTERM each process, SIGKILL it after 10 s."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[Callable[..., AppServer]]:
    """Start `main.py` as a subprocess (demo mode, fresh SQLite) with extra env; stopped after."""
    processes: list[subprocess.Popen] = []

    def start(**env: str) -> AppServer:
        process, server = spawn_app(tmp_path, **env)
        processes.append(process)
        return server

    yield start
    stop_processes(processes)


@pytest.fixture
def app_server(start_app: Callable[..., AppServer]) -> AppServer:
    """The real app on a free port, demo mode, fresh data."""
    return start_app()


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser).

    Function-scoped on purpose: sync Playwright runs an event loop in the main thread while it
    is open, which would break every pytest-asyncio test collected after it.
    """
    require_chromium()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context and page; fails the test on page errors, screenshot kept."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    new_page = context.new_page()
    errors: list[str] = []
    new_page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield new_page
    ARTIFACTS.mkdir(exist_ok=True)
    new_page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"
