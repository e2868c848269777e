"""The app under measurement: `main.py` of a checkout, started as its own process on 127.0.0.1.

Shared by the benches that measure a whole server (`--app DIR` runs an older checkout, e.g. the
tree before a change, with its own `.venv`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH_SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def free_port() -> int:
    """A port nobody listens on now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_python(app: Path) -> str:
    """The checkout's own interpreter (its `.venv`), else this one."""
    python = app / ".venv" / "bin" / "python"
    return str(python if python.exists() else Path(sys.executable))


def app_env(workdir: Path, port: int, **extra: str) -> dict[str, str]:
    """This environment without test, NiceGUI and provider variables, plus a fresh DATA_DIR."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("NICEGUI_", "OPENAI_", "PYTEST"))
    }
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        DATA_DIR=str(workdir),
        SECRET_KEY=BENCH_SECRET,
        LOG_LEVEL="WARNING",
        # One model-written title per new chat is not streaming load; the figures compare
        # replies only (and with checkouts that had no titles).
        TITLE_MODEL="",
        **extra,
    )
    return env


@contextmanager
def serving(app: Path, env: dict[str, str], workdir: Path) -> Iterator[subprocess.Popen]:
    """`app/main.py` running until /health answers (60 s at most); stopped afterwards."""
    server = subprocess.Popen(
        [app_python(app), "main.py"],
        cwd=app,
        env=env,
        stdout=(workdir / "server.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{env['PORT']}/health", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError((workdir / "server.log").read_text()[-2000:])
            time.sleep(0.2)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
