"""Connection and body limits and forwarded addresses, tried on the real server over sockets.

Bounded loops to 127.0.0.1 only: a few dozen slow connections, bodies of a few MiB.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pytest
import redis

from core import db
from services.accounts.users import create_user
from tests.e2e.conftest import AppServer

pytestmark = pytest.mark.socket

LIMITS = {"HEADER_TIMEOUT_SECONDS": "1", "BODY_IDLE_TIMEOUT_SECONDS": "1"}


def _connect(server: AppServer) -> socket.socket:
    parts = urlsplit(server.url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    return sock


def _closed_by_server(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        while chunk := sock.recv(65536):
            if not chunk:
                break
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _answer(sock: socket.socket, seconds: float = 5) -> bytes:
    sock.settimeout(seconds)
    data = b""
    try:
        while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def test_slow_and_silent_request_heads_are_closed(start_app: Callable[..., AppServer]) -> None:
    server = start_app(**LIMITS)
    slow, silent = [], []
    for _ in range(30):
        sock = _connect(server)
        sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        slow.append(sock)
        silent.append(_connect(server))
    time.sleep(0.5)
    for sock in slow:
        sock.sendall(b"a")  # a byte now and then does not extend the deadline
    deadline = time.monotonic() + 4
    try:
        for sock in slow + silent:
            assert _closed_by_server(sock, max(0.1, deadline - time.monotonic()))
    finally:
        for sock in slow + silent:
            sock.close()
    # An ordinary request on a fresh connection still works.
    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200


def test_oversized_heads_are_refused(start_app: Callable[..., AppServer]) -> None:
    server = start_app(**LIMITS)
    sock = _connect(server)
    try:
        sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.sendall(b"X-Big: " + b"a" * 100_000)
        assert _answer(sock).startswith(b"HTTP/1.1 400")
    finally:
        sock.close()


@pytest.mark.xfail(
    reason=("Quarantined: posts to /api/token, which issue 16 removed; needs another form route."),
    strict=False,
)
def test_form_bodies_are_capped_before_they_are_read(start_app: Callable[..., AppServer]) -> None:
    server = start_app(**LIMITS)
    declared = httpx.post(
        f"{server.url}/api/token",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
        content=b"--x\r\n",
        timeout=5,
    )
    assert declared.status_code == 422  # a small body gets through to the form checks

    sock = _connect(server)  # 200 MiB announced: refused before a byte of it is read
    try:
        sock.sendall(
            b"POST /api/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 209715200\r\n\r\n"
        )
        assert _answer(sock).startswith(b"HTTP/1.1 413")
    finally:
        sock.close()

    sock = _connect(server)  # chunked, no length: counted as it streams
    sent = 0
    answer = b""
    try:
        sock.sendall(
            b"POST /api/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        part = b'--x\r\nContent-Disposition: form-data; name="username"; filename="a"\r\n\r\n'
        sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        chunk = b"%x\r\n%s\r\n" % (65536, b"a" * 65536)
        sock.settimeout(0.05)
        while sent < 32 * 2**20 and not answer:
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 65536
            with contextlib.suppress(TimeoutError):
                answer = sock.recv(65536)
        answer += _answer(sock)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 4 * 2**20  # answered after about the cap, not after the whole body


@pytest.mark.xfail(
    reason=("Quarantined: posts to /api/token, which issue 16 removed; needs another form route."),
    strict=False,
)
def test_a_stalled_body_is_cut_off(start_app: Callable[..., AppServer]) -> None:
    server = start_app(**LIMITS)
    sock = _connect(server)
    try:
        sock.sendall(
            b"POST /api/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
            b"username=a"
        )
        started = time.monotonic()
        assert _answer(sock).startswith(b"HTTP/1.1 408")
        assert time.monotonic() - started < 4
    finally:
        sock.close()


def _sign_in(server: AppServer, username: str, password: str, forwarded: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/token",
        data={"username": username, "password": password},
        headers={"X-Forwarded-For": forwarded},
        timeout=10,
    )


@pytest.mark.xfail(
    reason=("Quarantined: counts sign-in failures through /api/token, which issue 16 removed."),
    strict=False,
)
def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(
    start_app: Callable[..., AppServer],
) -> None:
    db.migrate()
    create_user("grace", "password123")
    url = db.get_engine().url.render_as_string(hide_password=False)
    server = start_app(DATABASE_URL=url)
    # Someone local tries to lock out the office address 203.0.113.7 by naming it.
    for index in range(6):
        assert _sign_in(server, f"random{index}", "wrong", "203.0.113.7").status_code == 401
    assert _sign_in(server, "grace", "password123", "203.0.113.7").status_code == 200
    assert "address=203.0.113.7" not in server.log_path.read_text()

    trusted = start_app(DATABASE_URL=url, TRUSTED_PROXIES="127.0.0.1")
    assert _sign_in(trusted, "grace", "wrong", "198.51.100.9").status_code == 401
    assert "address=198.51.100.9" in trusted.log_path.read_text()


REDIS_URL = "redis://127.0.0.1:6379/14"


def test_requests_without_a_session_hold_no_redis_connection(
    start_app: Callable[..., AppServer],
) -> None:
    """Issue 13 item 3: health checks, bots and scanners keep no cookie; each of their requests
    used to get its own user storage, which held a Redis connection for about a minute."""
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
    except redis.RedisError as exc:
        reason = f"Redis is not running on 127.0.0.1:6379 ({exc}); .ci/run starts it"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    server = start_app(
        NICEGUI_REDIS_URL=REDIS_URL, NICEGUI_REDIS_KEY_PREFIX=f"studio-test-{uuid.uuid4().hex[:8]}:"
    )
    paths = ["/health", "/login", "/", "/wp-login.php"]
    for path in paths:  # warm-up: the app's own connections are open before counting
        httpx.get(f"{server.url}{path}", timeout=5)
    before = client.info("clients")["connected_clients"]
    for number in range(400):  # bounded: a new connection each time, no cookie kept
        response = httpx.get(f"{server.url}{paths[number % len(paths)]}", timeout=5)
        assert response.status_code < 500
    after = client.info("clients")["connected_clients"]
    assert after - before <= 2
    assert not list((server.data_dir / ".nicegui").glob("storage-user-*.json"))
