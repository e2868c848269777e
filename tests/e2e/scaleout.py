"""The scale-out cluster of the browser tests: nginx (deploy/nginx.conf) in front of app
processes on one MariaDB database and Redis, all started and stopped by `Cluster`."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis

from tests.e2e.conftest import ROOT, AppServer, _free_port, spawn_app, stop_processes

NGINX_CONF = ROOT / "deploy" / "nginx.conf"
REDIS_URL = "redis://127.0.0.1:6379/15"  # the browser suite's own Redis db


def require(condition: bool, reason: str) -> None:
    """Skip without the service (a laptop), fail under REQUIRE_BROWSER=1 (CI)."""
    if condition:
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def require_redis() -> None:
    """Redis must answer on 127.0.0.1:6379 (.ci/run starts it)."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        require(False, f"Redis is not running on 127.0.0.1:6379 ({exc}); .ci/run starts it")


def nginx_config(folder: Path, port: int, upstreams: list[AppServer]) -> Path:
    """deploy/nginx.conf with our upstreams and port, and its files kept under `folder`."""
    text = NGINX_CONF.read_text()
    servers = "".join(
        f"        server {u.url.removeprefix('http://')} max_fails=1 fail_timeout=10s;\n"
        for u in upstreams
    )
    text, replaced = re.subn(r"(        server app\d+:8080[^\n]*\n)+", servers, text)
    assert replaced == 1, "deploy/nginx.conf: upstream servers not found"
    text = text.replace("listen 80;", f"listen 127.0.0.1:{port};")
    text = text.replace("worker_processes auto;", "worker_processes 1;")
    paths = "".join(
        f"    {name}_temp_path {folder / name};\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = text.replace("http {\n", "http {\n" + paths, 1)
    text = f"pid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\n" + text
    path = folder / "nginx.conf"
    path.write_text(text)
    return path


@dataclass
class Cluster:
    """Several app instances behind one nginx; `url` is nginx's."""

    folder: Path
    env: dict[str, str]
    apps: list[AppServer] = field(default_factory=list)
    processes: list[subprocess.Popen] = field(default_factory=list)
    nginx: subprocess.Popen | None = None
    url: str = ""

    def start(self, instances: int = 2) -> Cluster:
        """Start the apps one after the other (the first migrates), then nginx."""
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        require(
            Path(nginx).exists(), "nginx is not installed (Debian's nginx; .ci/run installs it)"
        )
        for _ in range(instances):
            process, server = spawn_app(self.folder, **self.env)
            self.processes.append(process)
            self.apps.append(server)
        port = _free_port()
        config = nginx_config(self.folder, port, self.apps)
        self.nginx = subprocess.Popen(
            [
                nginx,
                "-c",
                str(config),
                "-p",
                str(self.folder),
                "-e",
                str(self.folder / "error.log"),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "nginx.out").open("w"),
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.nginx.poll() is not None:
                raise RuntimeError((self.folder / "nginx.out").read_text())
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("nginx did not answer")

    def instance_of(self, instance_id: str) -> int:
        """The index of the app whose /health names this instance id."""
        for index, app in enumerate(self.apps):
            alive = self.processes[index].poll() is None
            if (
                alive
                and httpx.get(f"{app.url}/health", timeout=5).json()["instance"] == instance_id
            ):
                return index
        raise LookupError(instance_id)

    def kill(self, index: int) -> None:
        """SIGKILL an instance and its children (the render worker): a lost machine."""
        os.killpg(self.processes[index].pid, signal.SIGKILL)
        self.processes[index].wait(timeout=10)

    def stop(self) -> None:
        """Stop nginx and every app."""
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.terminate()
            self.nginx.wait(timeout=10)
        stop_processes(self.processes)


def shared_env(database_url: str, **extra: str) -> dict[str, str]:
    """The settings every instance of a cluster shares (own Redis prefix per cluster)."""
    return {
        "DATABASE_URL": database_url,
        "NICEGUI_REDIS_URL": REDIS_URL,
        "NICEGUI_REDIS_KEY_PREFIX": f"studio-test-{uuid.uuid4().hex[:8]}:",
        "TRUSTED_PROXIES": "127.0.0.1",
        **extra,
    }


def forget_redis_keys(prefix: str) -> None:
    """Remove a cluster's keys from the shared Redis."""
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()
