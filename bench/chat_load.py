"""Load test of live chat: N simulated browsers stream replies at once from the real app.

Each simulated user behaves as the browser does, over the real protocol: GET the page (its
own HTTP connection), open the socket.io websocket on a separate connection, then send the
events that typing into `Message` and clicking `Send` send. Users sign in the same way
(typing into the sign-in form). All N users send within one second; the simulator (its own
process, not counted) streams 200 tokens at 50 tokens/s per reply.

Printed: time to first token and token lateness versus the simulator's schedule (p50/p95/
p99), completed and persisted replies, server RSS idle and per connected chat page, server
CPU seconds per 1,000 streamed tokens, bytes the server sent per reply, and the longest
event-loop block (probe inside the server, see bench/chat_server.py).

Run: `uv run python -m bench.chat_load --users 50` (add `--tokens`, `--rate`).

`--instances 2` runs two app processes on one MariaDB database (a fresh `studio_test_bench_*`
one on $BENCH_MARIADB_URL, dropped afterwards) and Redis ($BENCH_REDIS_URL, own key prefix),
behind nginx with deploy/nginx.conf (bench/nginx.py): the browsers connect to nginx and are
spread over the instances by its affinity cookie. Server figures are summed over the
instances; with pinning, instance i runs on core i and the load side is not pinned.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pymysql
import redis
import socketio
from sqlalchemy.engine import make_url

from bench.nginx import start_nginx

ROOT = Path(__file__).resolve().parent.parent
MARIADB_URL = os.environ.get(
    "BENCH_MARIADB_URL", "mysql+pymysql://studio_test:studio_test@127.0.0.1:3306/"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
ELEMENTS_RE = re.compile(r"parseElements\(String\.raw`(.*?)`\)", re.S)
QUERY_RE = re.compile(r"query: (\{.*?\}),\n")
# A streaming answer's text reaches the browser two ways (components/chat_message.py): as the
# formatted HTML of its `chat-md` elements in `update` messages, and as plain text appended to
# the open tail by `run_javascript` (an open code block, a long unbroken paragraph).
APPEND_RE = re.compile(
    r"^getHtmlElement\((\d+)\)[.\w()']*\.insertAdjacentText\('beforeend',(\".*\")\)$", re.S
)
TAG_RE = re.compile(r"<[^>]*>")
UNESCAPE = {"&#36;": "$", "&#96;": "`", "&gt;": ">", "&lt;": "<", "&amp;": "&"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def _percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return f"p50 {pick(0.50):.0f} ms, p95 {pick(0.95):.0f} ms, p99 {pick(0.99):.0f} ms"


SIGNED_IN = "signed in"
# What the sign-in form shows when it refuses (services/accounts/users.py).
SIGN_IN_REFUSALS = ("Wrong username or password.", "Too many failed sign-ins")


@dataclass
class Page:
    """A page as the browser received it: its elements and socket query."""

    elements: dict[str, dict]
    query: dict

    def find(self, predicate) -> str:  # noqa: ANN001
        return next(key for key, element in self.elements.items() if predicate(element))

    def by_label(self, label: str) -> str:
        return self.find(lambda e: (e.get("props") or {}).get("label") == label)

    def button(self, text: str) -> str:
        return self.find(
            lambda e: e.get("tag") == "q-btn" and (e.get("props") or {}).get("label") == text
        )

    def listener(self, element_id: str, event_type: str) -> str:
        for event in self.elements[element_id].get("events", []):
            if event["type"] == event_type:
                return event["listener_id"]
        raise KeyError(f"{element_id} has no {event_type} listener")


@dataclass
class Browser:
    """One simulated browser: cookie jar, page, websocket and what it received."""

    base: str
    http: httpx.AsyncClient = field(init=False)
    sio: socketio.AsyncClient | None = None
    page: Page | None = None
    received_bytes: int = 0
    words: int = 0
    arrivals: list[float] = field(default_factory=list)  # time of word i
    sent_at: float = 0.0
    done_at: float | None = None
    texts: dict[str, str] = field(default_factory=dict)  # answer element id -> its text
    opened: str | None = None  # the last path the server told the page to open
    signing_in: bool = False  # watching the sign-in form for a refusal
    refusal: str | None = None

    def __post_init__(self) -> None:
        self.http = httpx.AsyncClient(base_url=self.base, timeout=30)

    async def open(self, path: str) -> None:
        """GET the page, then connect its websocket on a separate connection."""
        if self.sio is not None:
            await self.sio.disconnect()
        response = await self.http.get(path, follow_redirects=True)
        response.raise_for_status()
        raw = ELEMENTS_RE.search(response.text).group(1)
        for escaped, char in UNESCAPE.items():
            raw = raw.replace(escaped, char)
        query = ast.literal_eval(QUERY_RE.search(response.text).group(1))
        self.page = Page(json.loads(raw), query)
        query.update(tab_id=str(uuid.uuid4()), document_id=str(uuid.uuid4()))
        # Browsers always offer permessage-deflate; aiohttp does not unless asked.
        self.sio = socketio.AsyncClient(
            reconnection=False, websocket_extra_options={"compress": 15}
        )
        self.sio.on("*", self._on_message)
        cookies = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        params = "&".join(
            f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in query.items()
        )
        await self.sio.connect(
            f"{self.base}?{params}",
            socketio_path="/_nicegui_ws/socket.io",
            transports=["websocket"],
            headers={"Cookie": cookies},
        )

    async def _on_message(self, event: str, data: dict) -> None:
        dumped = json.dumps(data, separators=(",", ":"))
        self.received_bytes += len(dumped)
        if event == "open":
            self.opened = data.get("path")
        elif event == "run_javascript" and self.sent_at:
            if match := APPEND_RE.search(data.get("code", "")):
                element_id, text = match.group(1), json.loads(match.group(2))
                self.texts[element_id] = self.texts.get(element_id, "") + text
                self._count_words()
        elif event == "update" and self.signing_in:
            self.refusal = next((r for r in SIGN_IN_REFUSALS if r in dumped), self.refusal)
        elif event == "update" and self.sent_at:
            self._on_update(data)
            if "tokens ·" in json.dumps(data, ensure_ascii=False):
                self.done_at = time.time()

    def _on_update(self, elements: dict) -> None:
        """Follow the answer's `chat-md` elements (added, redrawn or deleted) in an update."""
        for element_id, element in elements.items():
            if element_id == "_id":  # the outbox's message number
                continue
            if element is None:
                self.texts.pop(element_id, None)
            elif "chat-md" in (element.get("class") or []):
                html = (element.get("props") or {}).get("innerHTML", "")
                text = TAG_RE.sub(" ", html)
                for escaped, char in UNESCAPE.items():
                    text = text.replace(escaped, char)
                self.texts[element_id] = text
        self._count_words()

    def _count_words(self) -> None:
        """Time-stamp each word the first time the page shows it."""
        now = time.time()
        words = sum(len(text.split()) for text in self.texts.values())
        while len(self.arrivals) < words:
            self.arrivals.append(now)

    async def event(self, element_id: str, event_type: str, *args: object) -> None:
        listener = self.page.listener(element_id, event_type)
        await self.sio.emit(
            "event",
            {
                "id": int(element_id),
                "client_id": self.page.query["client_id"],
                "listener_id": listener,
                "args": [json.dumps(arg) for arg in args],
            },
        )

    async def type_into(self, label: str, text: str) -> None:
        await self.event(self.page.by_label(label), "update:value", text)

    async def click(self, text: str) -> None:
        await self.event(self.page.button(text), "click", {})

    async def attempt_sign_in(self, username: str, password: str) -> str:
        """Send the sign-in form: SIGNED_IN, or the refusal it shows (SIGN_IN_REFUSALS)."""
        await self.open("/login")
        await self.type_into("Username", username)
        await self.type_into("Password", password)
        self.opened = self.refusal = None
        self.signing_in = True
        try:
            await self.click("Sign in")
            for _ in range(100):
                await asyncio.sleep(0.1)
                if self.refusal is not None:
                    return self.refusal
                if self.opened:  # the one-time link that starts the signed-in session
                    await self.http.get(self.opened, follow_redirects=False)
                    self.opened = None
                if (await self.http.get("/", follow_redirects=False)).status_code == 200:
                    return SIGNED_IN
        finally:
            self.signing_in = False
        raise RuntimeError(f"no answer to {username}'s sign-in")

    async def sign_in(self, username: str, password: str = "password123") -> None:
        outcome = await self.attempt_sign_in(username, password)
        if outcome != SIGNED_IN:
            raise RuntimeError(f"{username} could not sign in: {outcome}")

    async def close(self) -> None:
        if self.sio is not None:
            await self.sio.disconnect()
        await self.http.aclose()


_client_lag_worst = 0.0


async def _loop_lag() -> None:
    """Worst overshoot of a 5 ms sleep on the load client's own loop (is the client keeping up?)."""
    global _client_lag_worst
    while True:
        before = time.perf_counter()
        await asyncio.sleep(0.005)
        _client_lag_worst = max(_client_lag_worst, time.perf_counter() - before - 0.005)


def _prepare_database(users: int) -> list[int]:
    """Users, one shared assistant and one conversation each, through the services."""
    from core import db
    from services.accounts.users import create_user
    from services.assistants.manage import AssistantInput, create_assistant
    from services.chat.conversations import create_conversation

    db.migrate()
    accounts = [create_user(f"user{i:03d}", "password123") for i in range(users)]
    assistant = create_assistant(accounts[0], AssistantInput(name="Bench", shared=True))
    return [create_conversation(user, assistant.id).id for user in accounts]


def _persisted(tokens: int) -> int:
    from sqlmodel import func, select

    from core.db import session_scope
    from models import ConversationMessage, MessageRole, MessageStatus

    with session_scope() as session:
        return session.exec(
            select(func.count())
            .select_from(ConversationMessage)
            .where(ConversationMessage.role == MessageRole.assistant)
            .where(ConversationMessage.status == MessageStatus.complete)
            .where(ConversationMessage.output_tokens == tokens)
        ).one()


def _replies_per_instance() -> list[int]:
    """How many replies each instance wrote (the row names its instance)."""
    from sqlmodel import func, select

    from core.db import session_scope
    from models import ConversationMessage, MessageRole

    with session_scope() as session:
        rows = session.exec(
            select(func.count())
            .select_from(ConversationMessage)
            .where(ConversationMessage.role == MessageRole.assistant)
            .group_by(ConversationMessage.instance_id)
        ).all()
    return sorted(rows, reverse=True)


def _mariadb_admin() -> pymysql.connections.Connection:
    url = make_url(MARIADB_URL)
    return pymysql.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 3306,
        user=url.username,
        password=url.password or "",
        charset="utf8mb4",
    )


def _shared_database() -> tuple[str, str]:
    """A fresh MariaDB database for the instances to share: its name and URL."""
    name = f"studio_test_bench_{uuid.uuid4().hex[:8]}"
    with _mariadb_admin() as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    url = make_url(MARIADB_URL).set(database=name).render_as_string(hide_password=False)
    return name, url


def _drop_database(name: str) -> None:
    with _mariadb_admin() as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


def _forget_redis_keys(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def _rss(processes: list[psutil.Process]) -> int:
    return sum(p.memory_info().rss for p in processes)


def _cpu(processes: list[psutil.Process]) -> float:
    return sum(sum(p.cpu_times()[:2]) for p in processes)


def _pin(pid: int, cpus: set[int] | None) -> None:
    if cpus is not None:
        os.sched_setaffinity(pid, cpus)


async def run(
    users: int, tokens: int, rate: float, pin: bool, profile: str | None, instances: int = 1
) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="chat-load-"))
    database, database_url = (
        _shared_database() if instances > 1 else (None, f"sqlite:///{workdir / 'studio.db'}")
    )
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    os.environ.update(
        DATA_DIR=str(workdir),
        DATABASE_URL=database_url,
        BCRYPT_ROUNDS="4",
        SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    )
    if instances > 1:
        os.environ.update(NICEGUI_REDIS_URL=REDIS_URL, NICEGUI_REDIS_KEY_PREFIX=prefix)
    sim_port = _free_port()
    app_ports = [_free_port() for _ in range(instances)]
    sim_url = f"http://127.0.0.1:{sim_port}"
    sim_token = secrets.token_urlsafe(16)
    control = {"Authorization": f"Bearer {sim_token}"}  # the simulator's control routes
    simulator = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", str(sim_port)],
        cwd=ROOT,
        env={**os.environ, "SIMULATOR_TOKEN": sim_token},
        stdout=subprocess.DEVNULL,
    )
    # Server on core 0, everything that plays the outside world (simulator, browsers) on the
    # other cores, as in a deployment where the model provider and the users are elsewhere.
    # With several instances, instance i on core i and the load side free to go anywhere.
    cores = os.cpu_count() or 1
    server_cpus = {0} if pin and cores > 1 else None
    load_cpus = set(range(1, cores)) if server_cpus and instances == 1 else None
    _pin(simulator.pid, load_cpus)
    _pin(0, load_cpus)
    lag_files = [workdir / f"loop_lag_{i}" for i in range(instances)]
    servers: list[subprocess.Popen] = []
    nginx = None
    try:
        _wait_http(f"{sim_url}/v1/models", simulator)
        httpx.post(
            f"{sim_url}/_sim/config", json={"tokens_per_s": rate}, headers=control
        ).raise_for_status()
        # One conversation per user, plus one per instance to warm it up.
        conversation_ids = _prepare_database(users + instances)
        for index, port in enumerate(app_ports):
            env = {
                **os.environ,
                "HOST": "127.0.0.1",
                "PORT": str(port),
                "DATA_DIR": str(workdir / f"instance-{index}"),
                "OPENAI_API_KEY": "sk-bench",
                "OPENAI_BASE_URL": f"{sim_url}/v1",
                "LOOP_LAG_FILE": str(lag_files[index]),
                "GC_LOG_FILE": str(workdir / "gc_log"),
                "LOG_LEVEL": "WARNING",
                "TITLE_MODEL": "",  # replies only, as bench/app_process.py
            }
            server = subprocess.Popen(
                [sys.executable, "-m", "bench.chat_server"],
                cwd=ROOT,
                env=env,
                stdout=(workdir / f"server-{index}.log").open("w"),
                stderr=subprocess.STDOUT,
            )
            servers.append(server)
            _pin(server.pid, {index % cores} if server_cpus else None)
            _wait_http(f"http://127.0.0.1:{port}/health", server)
        if instances > 1:
            nginx_port = _free_port()
            nginx = start_nginx(workdir, nginx_port, [f"127.0.0.1:{p}" for p in app_ports])
            base = f"http://127.0.0.1:{nginx_port}"
        else:
            base = f"http://127.0.0.1:{app_ports[0]}"
        processes = [psutil.Process(server.pid) for server in servers]
        helpers = [psutil.Process(simulator.pid), psutil.Process()]
        if nginx is not None:
            helpers.append(psutil.Process(nginx.pid))  # counted with the load side
        for index, port in enumerate(app_ports):  # each instance directly, not through nginx
            warmup = Browser(f"http://127.0.0.1:{port}")
            await warmup.sign_in(f"user{users + index:03d}")
            await warmup.open(f"/chat/{conversation_ids[users + index]}")
            await warmup.type_into("Message", "[[sim:tokens=20]] warm-up")
            warmup.sent_at = time.time()
            await warmup.click("Send")  # first-use imports and SDK set-up happen once, here
            while not warmup.done_at:
                await asyncio.sleep(0.1)
            await warmup.close()
        browsers = [Browser(base) for _ in range(users)]
        for index, browser in enumerate(browsers):
            await browser.sign_in(f"user{index:03d}")
        await asyncio.sleep(2)
        rss_idle = _rss(processes)
        for browser, conversation_id in zip(browsers, conversation_ids[:users], strict=True):
            await browser.open(f"/chat/{conversation_id}")
        await asyncio.sleep(3)
        rss_pages = _rss(processes)
        for browser in browsers:
            browser.received_bytes = 0

        cpu_before = _cpu(processes)
        helper_before = [sum(p.cpu_times()[:2]) for p in helpers]
        machine_before = psutil.cpu_times()
        start = time.time()
        spy = (
            subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "-p",
                    str(servers[0].pid),
                    "-o",
                    profile,
                    "-f",
                    "raw",
                    "-r",
                    "200",
                    "-d",
                    str(int(tokens / rate + 3)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if profile
            else None
        )
        client_lag = asyncio.get_running_loop().create_task(_loop_lag())

        async def send(index: int, browser: Browser) -> None:
            await asyncio.sleep(random.uniform(0, 1))
            text = f"[[sim:tokens={tokens}]] user {index}"
            await browser.type_into("Message", text)
            browser.sent_at = time.time()
            await browser.click("Send")

        await asyncio.gather(*(send(i, b) for i, b in enumerate(browsers)))
        deadline = time.time() + tokens / rate + 60
        while time.time() < deadline and not all(b.done_at for b in browsers):
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)
        cpu = _cpu(processes) - cpu_before
        elapsed = time.time() - start
        sim_cpu, client_cpu, *nginx_cpu = (
            sum(p.cpu_times()[:2]) - before
            for p, before in zip(helpers, helper_before, strict=True)
        )
        client_lag.cancel()
        machine = psutil.cpu_times()
        machine_busy = sum(
            getattr(machine, k) - getattr(machine_before, k) for k in ("user", "system", "nice")
        )
        others = machine_busy - cpu - sim_cpu - client_cpu - sum(nginx_cpu)

        requests = httpx.get(f"{sim_url}/_sim/requests", headers=control).json()
        scheduled = {}
        for entry in requests:
            given = (entry["body"] or {}).get("input")
            last = given[-1]["content"] if isinstance(given, list) and given else ""
            if not isinstance(last, str):
                continue
            if entry["path"] == "/v1/responses" and last.split()[-2:-1] == ["user"]:
                scheduled[int(last.rsplit(" ", 1)[1])] = entry["time"]
        ttft, lateness = [], []
        for index, browser in enumerate(browsers):
            if browser.done_at:  # the last words come with the final render
                browser.arrivals += [browser.done_at] * (tokens - len(browser.arrivals))
            if browser.arrivals:
                ttft.append(browser.arrivals[0] - browser.sent_at)
            begin = scheduled.get(index)
            if begin is not None:
                lateness += [
                    max(0.0, t - (begin + i / rate)) for i, t in enumerate(browser.arrivals)
                ]
        streamed = sum(len(b.arrivals) for b in browsers)
        complete = sum(1 for b in browsers if b.done_at and len(b.arrivals) >= tokens)
        persisted = _persisted(tokens)  # the warm-up reply has 20 tokens: not counted
        windows = [
            tuple(map(float, line.split()))
            for lag_file in lag_files
            for line in lag_file.read_text().splitlines()
        ]
        windows.sort()
        lag = max((w for t, w in windows if start <= t <= time.time()), default=float("nan"))
        lag_all = max((w for _, w in windows), default=float("nan"))
        per_reply = statistics.mean(b.received_bytes for b in browsers)

        print(
            f"users={users} tokens/reply={tokens} rate={rate:g} tok/s wall={elapsed:.1f} s "
            f"instances={instances}" + (" behind nginx" if nginx else "")
        )
        if instances > 1:
            spread = "/".join(str(n) for n in _replies_per_instance())
            print(f"replies per instance (incl. warm-ups): {spread}")
        print(f"time to first token: {_percentiles(ttft)}")
        print(f"token lateness vs simulator schedule: {_percentiles(lateness)}")
        print(
            f"replies complete in the browser: {complete}/{users}; persisted: {persisted}/{users}"
        )
        print(
            f"server RSS idle (signed-in, no chat page): {rss_idle / 2**20:.1f} MiB; "
            f"per chat page: {(rss_pages - rss_idle) / users / 1024:.0f} KiB"
        )
        print(
            f"server CPU: {cpu:.2f} s for {streamed} tokens = {cpu / streamed * 1000:.3f} s per 1k"
        )
        print(
            f"bytes sent per reply: {per_reply / 1024:.1f} KiB "
            f"({per_reply / 1024 / tokens * 1000:.0f} KiB per 1,000 tokens)"
        )
        print(
            f"longest event-loop block while streaming: {lag * 1000:.0f} ms "
            f"(whole run incl. sign-ins and first page loads: {lag_all * 1000:.0f} ms)"
        )
        print(
            f"load side: simulator {sim_cpu / elapsed:.0%} of a core, load client "
            f"{client_cpu / elapsed:.0%} of a core, "
            + (f"nginx {sum(nginx_cpu) / elapsed:.0%} of a core, " if nginx else "")
            + "client loop worst lag "
            f"{_client_lag_worst * 1000:.0f} ms; other processes on the machine "
            f"{max(others, 0) / elapsed:.0%} of a core (should be ~0 for a clean run)"
        )
        print(
            "event-loop block per second while streaming (ms): "
            + " ".join(f"{w * 1000:.0f}" for t, w in windows if start <= t <= time.time())
        )
        pauses = [
            (int(gen), float(pause))
            for t, gen, pause in (
                line.split() for line in (workdir / "gc_log").read_text().splitlines()
            )
            if start <= float(t) <= time.time()
        ]
        print(
            "garbage collections while streaming: "
            + ", ".join(
                f"gen{g} x{sum(1 for x, _ in pauses if x == g)} "
                f"(worst {max((p for x, p in pauses if x == g), default=0) * 1000:.0f} ms)"
                for g in (0, 1, 2)
            )
        )
        if spy is not None:
            spy.wait()
        for browser in browsers:
            await browser.close()
    finally:
        for process in (nginx, *servers, simulator):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        if database is not None:
            _drop_database(database)
            _forget_redis_keys(prefix)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="do not pin the server to core 0 and the simulator and clients to the others",
    )
    parser.add_argument("--profile", help="py-spy the server while streaming into this file")
    parser.add_argument(
        "--instances",
        type=int,
        default=1,
        help="app processes; more than 1 runs them behind nginx on MariaDB and Redis",
    )
    args = parser.parse_args()
    asyncio.run(
        run(args.users, args.tokens, args.rate, args.pin, args.profile, max(1, args.instances))
    )


if __name__ == "__main__":
    main()
