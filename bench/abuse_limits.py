"""Connection, body and sign-in abuse against a real app on 127.0.0.1, with figures.

1. Slow request heads: N connections each send a partial request head, one byte every few
   seconds; printed: how many the server still holds open after 15 s.
2. A 200 MiB chunked JSON body to the JSON API's POST /api/conversations (with a real API
   key; FastAPI reads a JSON body whole before it validates it); printed: the answer, and how
   many bytes the server took before answering. (POST /api/token, the form route this used,
   is gone since issue 16.)
3. Sign-in lockout, through the sign-in form (bench/chat_load.py's Browser): five wrong
   passwords for random usernames from one address, then the right password of a real
   account from the same address; and the same with a spoofed X-Forwarded-For naming another
   address. Printed: what the form answered.

Run: `uv run python -m bench.abuse_limits` (add `--app /work/before` to measure older code;
code from before issue 16 has no API keys nor that route, and step 2 shows its router's
answer).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import select
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from bench.app_process import ROOT, app_env, app_python, free_port, serving
from bench.chat_load import Browser


def _still_open(sock: socket.socket) -> bool:
    sock.settimeout(0.01)
    try:
        return sock.recv(1) != b""
    except TimeoutError:
        return True
    except OSError:
        return False


def slow_heads(port: int, count: int) -> int:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        sockets.append(sock)
    for _ in range(5):  # 15 s, a byte every 3 s
        time.sleep(3)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.sendall(b"a")
    open_count = sum(_still_open(sock) for sock in sockets)
    for sock in sockets:
        sock.close()
    return open_count


def big_body(port: int, key: str) -> tuple[str, int, float]:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"POST /api/conversations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer " + key.encode() + b"\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    part = b'{"assistant_id": 1, "padding": "'
    sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
    chunk = b"%x\r\n%s\r\n" % (2**20, b"a" * 2**20)
    sent, answer, start = 0, b"", time.perf_counter()
    sock.settimeout(30)
    while sent < 200 * 2**20 and not answer:
        try:
            sock.sendall(chunk)
        except OSError:
            break
        sent += 2**20
        if select.select([sock], [], [], 0)[0]:  # the server answered early
            with contextlib.suppress(OSError):
                answer = sock.recv(4096) or b"closed"
    if not answer:
        with contextlib.suppress(OSError):
            sock.sendall(b"0\r\n\r\n")
        sock.settimeout(60)
        with contextlib.suppress(OSError):
            answer = sock.recv(4096)
    sock.close()
    status = answer.split(b"\r\n", 1)[0].decode() or "connection closed"
    return status, sent, time.perf_counter() - start


async def lockout(base: str) -> tuple[str, str]:
    async def after_five_wrong(prefix: str, owner: str, forwarded: str | None = None) -> str:
        browser = Browser(base)
        if forwarded:
            browser.http.headers["X-Forwarded-For"] = forwarded  # on the sign-in page's GET
        try:
            for index in range(5):
                await browser.attempt_sign_in(f"{prefix}{index}", "wrong")
            return await browser.attempt_sign_in(owner, "password123")
        finally:
            await browser.close()

    own = await after_five_wrong("random", "owner")
    spoofed = await after_five_wrong("spoof", "owner2", "203.0.113.7")
    return own, spoofed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, default=ROOT, help="checkout whose main.py to run")
    parser.add_argument("--connections", type=int, default=1000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="abuse-bench-"))
    port = free_port()
    env = app_env(workdir, port, BCRYPT_ROUNDS="4")
    setup = (  # the layout before issue 10 kept these in app/ and services/accounts.py
        "try:\n    from core import db\n    from services.accounts.users import create_user\n"
        "except ImportError:\n    from app import db\n"
        "    from services.accounts import create_user\n"
        "db.migrate()\nowner = create_user('owner', 'password123')\n"
        "create_user('owner2', 'password123')\n"
        "try:\n    from services.accounts.api_keys import create_key\n"
        "except ImportError:  # before issue 16: no API keys\n    pass\n"
        "else:\n    print(create_key(owner, 'abuse bench').secret)\n"
    )
    made = subprocess.run(
        [app_python(args.app), "-c", setup],
        cwd=args.app,
        env=env,
        check=True,
        stdout=subprocess.PIPE,  # the key; the logs stay on stderr
        text=True,
    )
    key = (made.stdout.strip().splitlines() or [""])[-1]
    base = f"http://127.0.0.1:{port}"
    with serving(args.app, env, workdir):
        print(f"app: {args.app}")
        held = slow_heads(port, args.connections)
        print(f"slow request heads: {held}/{args.connections} connections still open after 15 s")
        status, sent, seconds = big_body(port, key)
        print(
            f"200 MiB chunked JSON to POST /api/conversations: '{status}' after "
            f"{sent / 2**20:.0f} MiB sent ({seconds:.1f} s)"
        )
        own, spoofed = asyncio.run(lockout(base))
        print(
            "after 5 wrong passwords for random usernames from this address, the owner's "
            f"right password from it: {own}; with X-Forwarded-For 203.0.113.7 (spoofed "
            f"from 127.0.0.1) for both: {spoofed}"
        )


if __name__ == "__main__":
    main()
