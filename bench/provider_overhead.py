"""Adapter overhead per token: the Responses adapter vs a raw read of the same SSE stream.

Method: the simulator runs in a separate process (`python -m simulator`) so
its CPU is not counted. Each round streams a 1,000-token reply at full speed three ways,
all over HTTP on 127.0.0.1 in this process:

- raw: `httpx2` (the SDK's HTTP library) POSTs the same body and reads the bytes to the end;
- adapter: `ResponsesProvider.stream_reply` (real AsyncOpenAI, raw SSE + orjson), consuming
  every `ReplyEvent`;
- typed: the SDK's typed events (`client.responses.create(stream=True)`), for comparison.

Overhead per token = (median CPU time of adapter - median CPU time of raw) / tokens, where
CPU time is `time.process_time()` of this process (wall time is printed too). Events per
second = events yielded by the adapter / its median wall time.

Run: `uv run python -m bench.provider_overhead [--tokens 1000] [--rounds 15]`
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import httpx2

from core.config import Settings
from services.llm.base import ContextMessage, ReplyRequest
from services.llm.factory import get_provider

TARGET_US_PER_TOKEN = 50


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_simulator(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx2.get(f"http://127.0.0.1:{port}/v1/models").raise_for_status()
            return process
        except httpx2.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("simulator did not start")


async def _measure(run: Callable[[], Awaitable[int]], rounds: int) -> tuple[float, float, int]:
    """Median (cpu seconds, wall seconds) and the item count of one run."""
    await run()  # warm-up: connections, imports, caches
    cpu, wall, count = [], [], 0
    for _ in range(rounds):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        count = await run()
        cpu.append(time.process_time() - cpu0)
        wall.append(time.perf_counter() - wall0)
    return statistics.median(cpu), statistics.median(wall), count


async def main(tokens: int, rounds: int) -> None:
    port = _free_port()
    simulator = _start_simulator(port)
    base_url = f"http://127.0.0.1:{port}/v1"
    prompt = f"[[sim:tokens={tokens}]]"
    settings = Settings(_env_file=None, openai_api_key="bench", openai_base_url=base_url)  # type: ignore[call-arg]
    provider = get_provider(settings)
    client = provider.client  # type: ignore[attr-defined]
    request = ReplyRequest(
        model="gpt-4.1-mini", instructions="", messages=[ContextMessage("user", prompt)]
    )
    body = {"model": "gpt-4.1-mini", "input": [{"role": "user", "content": prompt}], "stream": True}
    http = httpx2.AsyncClient(base_url=base_url, timeout=30)

    async def raw() -> int:
        size = 0
        async with http.stream("POST", "/responses", json=body) as response:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
        return size

    async def adapter() -> int:
        return sum([1 async for _ in provider.stream_reply(request)])

    async def typed() -> int:
        stream = await client.responses.create(model="gpt-4.1-mini", input=prompt, stream=True)
        return sum([1 async for _ in stream])

    try:
        raw_cpu, raw_wall, _ = await _measure(raw, rounds)
        ad_cpu, ad_wall, events = await _measure(adapter, rounds)
        ty_cpu, ty_wall, _ = await _measure(typed, rounds)
    finally:
        await http.aclose()
        simulator.terminate()
        simulator.wait(5)

    overhead = (ad_cpu - raw_cpu) / tokens * 1e6
    print(f"reply: {tokens} tokens, {rounds} rounds, medians")
    print(f"raw httpx2 read     : cpu {raw_cpu * 1e3:7.2f} ms  wall {raw_wall * 1e3:7.2f} ms")
    print(f"adapter (raw+orjson): cpu {ad_cpu * 1e3:7.2f} ms  wall {ad_wall * 1e3:7.2f} ms")
    print(f"SDK typed events    : cpu {ty_cpu * 1e3:7.2f} ms  wall {ty_wall * 1e3:7.2f} ms")
    print(f"adapter overhead    : {overhead:.1f} us/token (target < {TARGET_US_PER_TOKEN})")
    print(f"typed-event overhead: {(ty_cpu - raw_cpu) / tokens * 1e6:.1f} us/token")
    print(f"adapter throughput  : {events / ad_wall:,.0f} events/s ({events} events)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Measure the provider adapter's overhead.")
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.tokens, arguments.rounds))
