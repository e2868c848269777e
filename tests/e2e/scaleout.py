"""The scale-out cluster of the browser tests: nginx (deploy/nginx.conf, see bench/nginx.py)
in front of app processes on one MariaDB database and Redis, started and stopped by `Cluster`."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis

from bench.nginx import nginx_binary, start_nginx
from tests.e2e.conftest import AppServer, _free_port, spawn_app, stop_processes

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
        require(nginx_binary().exists(), "nginx is not installed (Debian's nginx; .ci/run does)")
        for _ in range(instances):
            process, server = spawn_app(self.folder, **self.env)
            self.processes.append(process)
            self.apps.append(server)
        port = _free_port()
        upstreams = [app.url.removeprefix("http://") for app in self.apps]
        self.nginx = start_nginx(self.folder, port, upstreams)
        self.url = f"http://127.0.0.1:{port}"
        return self

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
