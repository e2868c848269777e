"""Connection and body limits and forwarded addresses, tried on the real server over sockets.

Bounded loops to 127.0.0.1 only: a few dozen slow connections, bodies of a few MiB. Bodies go
to the JSON API (POST /api/conversations), sign-ins through the sign-in form's socket events
(bench/chat_load.py's Browser): the password-for-token route they used, POST /api/token, is
gone since issue 16.
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
from sqlmodel import func, select

from bench.chat_load import SIGNED_IN, Browser
from core import db
from core.db import session_scope
from models import AuditEvent
from services.accounts import api_keys
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


def _app_with_a_key(start_app: Callable[..., AppServer]) -> tuple[AppServer, str]:
    """The app (LIMITS on) on the test database, and a chat key of an account there (the JSON
    API's Bearer token)."""
    db.migrate()
    owner = create_user("keyowner", "password123")
    key = api_keys.create_key(owner, "limits test").secret
    url = db.get_engine().url.render_as_string(hide_password=False)
    return start_app(DATABASE_URL=url, **LIMITS), key


def test_request_bodies_are_capped_before_they_are_read(
    start_app: Callable[..., AppServer],
) -> None:
    """The JSON API's POST /api/conversations stands for every route that reads a body.

    Issue 16 removed POST /api/token, the last route that parsed a form; FastAPI reads a JSON
    body whole into memory before it validates it (and before it checks the key), so the cap
    matters as much here. A real key makes the small body reach the route's own checks."""
    server, key = _app_with_a_key(start_app)
    auth = b"Authorization: Bearer " + key.encode() + b"\r\n"
    declared = httpx.post(
        f"{server.url}/api/conversations",
        headers={"Authorization": f"Bearer {key}"},
        json={},
        timeout=5,
    )
    assert declared.status_code == 422  # a small body gets through to the route's checks

    sock = _connect(server)  # 200 MiB announced: refused before a byte of it is read
    try:
        sock.sendall(
            b"POST /api/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + auth
            + b"Content-Type: application/json\r\nContent-Length: 209715200\r\n\r\n"
        )
        assert _answer(sock).startswith(b"HTTP/1.1 413")
    finally:
        sock.close()

    sock = _connect(server)  # chunked, no length: counted as it streams
    sent = 0
    answer = b""
    try:
        sock.sendall(
            b"POST /api/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + auth
            + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        part = b'{"assistant_id": 1, "padding": "'
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


def test_a_stalled_body_is_cut_off(start_app: Callable[..., AppServer]) -> None:
    """A JSON body that stops arriving (POST /api/conversations, as above) gets 408."""
    server, key = _app_with_a_key(start_app)
    sock = _connect(server)
    try:
        sock.sendall(
            b"POST /api/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer " + key.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            b'{"assistant_id": '
        )
        started = time.monotonic()
        assert _answer(sock).startswith(b"HTTP/1.1 408")
        assert time.monotonic() - started < 4
    finally:
        sock.close()


def _sign_in_failures(address: str) -> int:
    """How many failed sign-ins the audit log holds from this address."""
    with session_scope() as session:
        found = select(func.count()).where(
            AuditEvent.action == "signin.failed", AuditEvent.address == address
        )
        return session.exec(found).one()


async def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(
    start_app: Callable[..., AppServer],
) -> None:
    """Sign-in failures are counted against the address the sign-in page was requested from.

    Passwords are only taken by the sign-in form since issue 16 (the page's socket events);
    the limiter keys on the page request's client address, so X-Forwarded-For goes on GET
    /login, exactly where a browser behind a proxy sends it."""
    db.migrate()
    create_user("grace", "password123")
    url = db.get_engine().url.render_as_string(hide_password=False)
    server = start_app(DATABASE_URL=url)
    # Someone local tries to lock out the office address 203.0.113.7 by naming it.
    local = Browser(server.url)
    local.http.headers["X-Forwarded-For"] = "203.0.113.7"
    try:
        for index in range(6):
            refusal = await local.attempt_sign_in(f"random{index}", "wrong-password")
            assert refusal == "Wrong username or password."
        assert await local.attempt_sign_in("grace", "password123") == SIGNED_IN
    finally:
        await local.close()
    assert _sign_in_failures("127.0.0.1") == 6  # counted against the real peer
    assert _sign_in_failures("203.0.113.7") == 0
    assert "address=203.0.113.7" not in server.log_path.read_text()

    trusted = start_app(DATABASE_URL=url, TRUSTED_PROXIES="127.0.0.1")
    proxied = Browser(trusted.url)
    proxied.http.headers["X-Forwarded-For"] = "198.51.100.9"
    try:
        refusal = await proxied.attempt_sign_in("grace", "wrong-password")
        assert refusal == "Wrong username or password."
    finally:
        await proxied.close()
    assert _sign_in_failures("198.51.100.9") == 1
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
