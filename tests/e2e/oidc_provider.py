"""A real OpenID provider for the SSO tests: node's oidc-provider (tests/oidc/provider.mjs)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

OIDC_DIR = Path(__file__).resolve().parents[1] / "oidc"
CLIENT_ID = "studio"
CLIENT_SECRET = "studio-test-secret"


def require_provider() -> None:
    """Skip without node or `npm ci` in tests/oidc; fail under REQUIRE_BROWSER=1 (CI)."""
    if shutil.which("node") and (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    reason = (
        "The test OpenID provider is not installed: run `npm ci` in tests/oidc "
        "(.ci/run does; REQUIRE_BROWSER=1 makes this a failure)"
    )
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@dataclass
class Provider:
    """A running provider: its issuer URL and the app settings that point at it."""

    issuer: str

    def app_env(self, **extra: str) -> dict[str, str]:
        """The OIDC_* settings of an app signing in with this provider."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_PROVIDER_NAME": "Test IdP",
            **extra,
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def provider_launcher(tmp_path: Path) -> Iterator[Callable[[], Provider]]:
    """The body of a `start_provider` fixture: start provider.mjs on a free port (as often as
    asked), every one stopped afterwards."""
    require_provider()
    processes: list[subprocess.Popen] = []

    def start() -> Provider:
        port = _free_port()
        log_path = tmp_path / f"oidc-{port}.log"
        process = subprocess.Popen(
            ["node", "provider.mjs"],
            cwd=OIDC_DIR,
            env={**os.environ, "PORT": str(port)},
            stdout=log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(process)
        issuer = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"provider exited:\n{log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1).is_success:
                    return Provider(issuer)
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"provider did not start:\n{log_path.read_text()[-2000:]}")

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.S)
HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', re.S)


def sign_in_at_provider(client: httpx.Client, app_url: str, login: str) -> str:
    """Start SSO at the app and sign in on the provider's own login and consent forms, as a
    browser would; returns the callback URL the provider sends the browser back to (not
    opened yet, so a test can tamper with it)."""
    client.get(f"{app_url}/login")  # the session cookie
    response = client.get(f"{app_url}/auth/oidc/start", follow_redirects=False)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    for _ in range(10):
        if location.startswith(f"{app_url}/auth/oidc/callback"):
            return location
        response = client.get(location, follow_redirects=False)
        if response.is_redirect:
            location = str(response.url.join(response.headers["location"]))
            continue
        match = FORM.search(response.text)
        assert match, response.text[:2000]
        action, body = match.groups()
        data = dict(HIDDEN.findall(body))
        if 'name="login"' in body:
            data.update(login=login, password="any-password")
        response = client.post(str(response.url.join(unescape(action))), data=data)
        assert response.is_redirect, response.text[:2000]
        location = str(response.url.join(response.headers["location"]))
    raise AssertionError("the provider never sent the browser back")


def with_state(callback_url: str, state: str) -> str:
    """The callback URL with another `state`."""
    parts = urlsplit(callback_url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query["state"] = state
    return urlunsplit(parts._replace(query=urlencode(query)))
