"""What requests that never sign in cost: server RSS and Redis connections, before and after.

Health checks, bots and scanners send requests without a session cookie and never open a
page's websocket. This starts the app (demo mode, fresh SQLite; with `--redis`, NiceGUI's
user storage in that Redis under a private key prefix), warms it up, then sends N cookieless
requests from a few concurrent clients to 127.0.0.1: a mix of GET /health, GET /login (a full
page whose websocket never connects), GET / (redirected to sign-in) and an unknown URL.

Printed: RSS before, right after, and after NiceGUI's prune window; Redis `connected_clients`
at the same points; requests per second.

Run: `uv run python -m bench.anonymous_requests --requests 10000`
     `uv run python -m bench.anonymous_requests --redis redis://127.0.0.1:6379/13`
Point `--app` at another checkout (e.g. /work/before) to measure older code the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
import uuid
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

import httpx
import psutil

from bench.app_process import ROOT, app_env, free_port, serving

PATHS = ("/health", "/login", "/", "/wp-login.php")


def _redis_clients(url: str | None) -> str:
    if not url:
        return "n/a"
    import redis

    with redis.from_url(url) as client:
        return str(client.info("clients")["connected_clients"])


async def _hammer(base: str, total: int, concurrency: int) -> tuple[float, dict[int, int]]:
    statuses: dict[int, int] = {}
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        for index in counter:
            response = await client.get(PATHS[index % len(PATHS)], follow_redirects=False)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        # A scanner keeps no cookies: every request arrives without a session.
        client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return time.perf_counter() - start, statuses


def _rss(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--redis", help="e.g. redis://127.0.0.1:6379/13 (NICEGUI_REDIS_URL)")
    parser.add_argument("--settle", type=float, default=75.0, help="seconds to wait for prune")
    parser.add_argument("--app", type=Path, default=ROOT, help="checkout whose main.py to run")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="anon-bench-"))
    port = free_port()
    redis = {}
    if args.redis:
        redis = dict(
            NICEGUI_REDIS_URL=args.redis, NICEGUI_REDIS_KEY_PREFIX=f"bench-{uuid.uuid4()}:"
        )
    base = f"http://127.0.0.1:{port}"
    with serving(args.app, app_env(workdir, port, **redis), workdir) as server:
        process = psutil.Process(server.pid)
        asyncio.run(_hammer(base, 400, args.concurrency))  # imports, caches, first pages
        time.sleep(3)
        rss_before, redis_before = _rss(process), _redis_clients(args.redis)
        peaks = {"rss": rss_before, "redis": 0}
        done = threading.Event()

        def sample() -> None:  # peaks while the requests run
            while not done.wait(0.5):
                peaks["rss"] = max(peaks["rss"], _rss(process))
                if args.redis:
                    peaks["redis"] = max(peaks["redis"], int(_redis_clients(args.redis)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        elapsed, statuses = asyncio.run(_hammer(base, args.requests, args.concurrency))
        done.set()
        sampler.join()
        rss_after, redis_after = _rss(process), _redis_clients(args.redis)
        time.sleep(args.settle)
        rss_settled, redis_settled = _rss(process), _redis_clients(args.redis)
        print(f"app: {args.app}  redis: {args.redis or 'off'}")
        print(
            f"{args.requests:,} cookieless requests ({', '.join(PATHS)}) in {elapsed:.1f} s "
            f"= {args.requests / elapsed:.0f}/s; statuses {dict(sorted(statuses.items()))}"
        )
        print(
            f"RSS: before {rss_before:.1f} MiB, after {rss_after:.1f} MiB "
            f"(+{rss_after - rss_before:.1f}), after {args.settle:.0f} s {rss_settled:.1f} MiB "
            f"(+{rss_settled - rss_before:.1f}); peak {peaks['rss']:.1f} MiB"
        )
        print(
            f"Redis connected_clients: before {redis_before}, after {redis_after}, "
            f"after {args.settle:.0f} s {redis_settled}; peak {peaks['redis'] or 'n/a'}"
        )
        storage = list((workdir / ".nicegui").glob("storage-user-*.json"))
        print(f"user storage files on disk: {len(storage)}")


if __name__ == "__main__":
    main()
