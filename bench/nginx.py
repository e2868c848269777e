"""nginx in front of app processes on 127.0.0.1, from deploy/nginx.conf (the compose file's).

Used by `bench/chat_load.py --instances N` and the scale-out browser tests: the deployment's
own config with its upstreams and listen address replaced and every file nginx writes (pid,
logs, temp files) kept in one folder, run as a foreground subprocess.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
NGINX_CONF = ROOT / "deploy" / "nginx.conf"


def nginx_binary() -> Path:
    """Debian's nginx (on PATH, or /usr/sbin, which root's PATH may lack)."""
    return Path(shutil.which("nginx") or "/usr/sbin/nginx")


def nginx_config(folder: Path, port: int, upstreams: list[str]) -> Path:
    """deploy/nginx.conf with these `host:port` upstreams, listening on 127.0.0.1:`port`."""
    text = NGINX_CONF.read_text()
    servers = "".join(
        f"        server {upstream} max_fails=1 fail_timeout=10s;\n" for upstream in upstreams
    )
    text, replaced = re.subn(r"(        server app\d+:8080[^\n]*\n)+", servers, text)
    if replaced != 1:
        raise ValueError("deploy/nginx.conf: the upstream servers were not found")
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


def start_nginx(folder: Path, port: int, upstreams: list[str]) -> subprocess.Popen:
    """Run nginx in the foreground until it answers /health through an upstream."""
    config = nginx_config(folder, port, upstreams)
    process = subprocess.Popen(
        [
            str(nginx_binary()),
            "-c",
            str(config),
            "-p",
            str(folder),
            "-e",
            str(folder / "error.log"),
            "-g",
            "daemon off;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "nginx.out").open("w"),
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((folder / "nginx.out").read_text())
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("nginx did not answer")
