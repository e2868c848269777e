"""Dashboard query time with 100,000 ledger rows, on SQLite and MariaDB.

Seeds (bulk insert) 10 users, 40 assistants, 2,000 conversations, 100,000 messages and
100,000 spend-ledger rows (what the figures read since issue 11) spread over the last 90 days,
half of them owned by one user (the worst case for a personal dashboard), then times every
dashboard query for that user and the admin's team view.

    uv run python bench/dashboard.py                       # both backends
    uv run python bench/dashboard.py --backend sqlite
    BENCH_MARIADB_URL=mysql+pymysql://u:p@host:3306/db uv run python bench/dashboard.py

The MariaDB database (default `studio_test_bench`) is dropped and re-created.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pymysql
import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")

from core import db  # noqa: E402
from core.config import get_settings  # noqa: E402
from models import Assistant, Conversation, ConversationMessage, Role, SpendEntry, User  # noqa: E402
from services.usage import dashboard  # noqa: E402
from services.usage import spend as usage

MARIADB_URL = os.environ.get(
    "BENCH_MARIADB_URL",
    "mysql+pymysql://studio_test:studio_test@127.0.0.1:3306/studio_test_bench",
)
MESSAGES = 100_000
USERS = 10
ASSISTANTS = 40
CONVERSATIONS = 2_000
DAYS = 90
MODELS = ("gpt-4.1-mini", "gpt-4.1", "gpt-4o-mini", "o4-mini")
TARGET_MS = 200.0
RUNS = 7


def seed(engine: sa.Engine) -> None:
    """Bulk-insert the synthetic team; message 0..49,999 belong to user 1's conversations."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(User),
            [
                {
                    "id": uid,
                    "username": f"user{uid}",
                    "password_hash": "x",
                    "role": Role.admin if uid == 1 else Role.member,
                    "token_version": 0,
                    "is_active": True,
                    "theme": "auto",
                    "created_at": now,
                    "updated_at": now,
                }
                for uid in range(1, USERS + 1)
            ],
        )
        conn.execute(
            sa.insert(Assistant),
            [
                {
                    "id": aid,
                    "owner_id": (aid % USERS) + 1,
                    "name": f"Assistant {aid}",
                    "description": "",
                    "instructions": "",
                    "model": MODELS[aid % len(MODELS)],
                    "tools": [],
                    "shared": aid % 2 == 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for aid in range(1, ASSISTANTS + 1)
            ],
        )
        # Half of the conversations (and so half of the messages) belong to user 1.
        conversations = [
            {
                "id": cid,
                "owner_id": 1 if cid % 2 else (cid % USERS) + 1,
                "assistant_id": (cid % ASSISTANTS) + 1,
                "title": f"Conversation {cid}",
                "summary": "",
                "message_count": MESSAGES // CONVERSATIONS,
                "created_at": now - timedelta(days=DAYS),
                "updated_at": now - timedelta(minutes=cid),
            }
            for cid in range(1, CONVERSATIONS + 1)
        ]
        conn.execute(sa.insert(Conversation), conversations)
        batch: list[dict] = []
        ledger: list[dict] = []
        for index in range(MESSAGES):
            cid = (index % CONVERSATIONS) + 1
            created = now - timedelta(seconds=rng.randrange(DAYS * 86_400))
            is_reply = index % 2 == 1
            batch.append(
                {
                    "conversation_id": cid,
                    "role": "assistant" if is_reply else "user",
                    "content": "x",
                    "status": "complete",
                    "attachments": [],
                    "citations": [],
                    "tool_calls": {},
                    "input_tokens": rng.randrange(200, 4000) if is_reply else 0,
                    "cached_tokens": 0,
                    "output_tokens": rng.randrange(50, 800) if is_reply else 0,
                    "reasoning_tokens": 0,
                    "cost_micros": rng.randrange(100, 9000) if is_reply else 0,
                    "model": MODELS[cid % len(MODELS)] if is_reply else None,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            conversation = conversations[cid - 1]
            ledger.append(
                {
                    "created_at": created,
                    "kind": "reply" if index % 10 else "tool",
                    "tool": None if index % 10 else "web_search",
                    "quantity": 0,
                    "user_id": conversation["owner_id"],
                    "user_label": f"user{conversation['owner_id']}",
                    "assistant_id": conversation["assistant_id"],
                    "assistant_label": f"Assistant {conversation['assistant_id']}",
                    "conversation_id": cid,
                    "conversation_label": conversation["title"],
                    "model": MODELS[cid % len(MODELS)],
                    "model_alias": MODELS[cid % len(MODELS)],
                    "input_tokens": rng.randrange(200, 4000),
                    "cached_tokens": 0,
                    "output_tokens": rng.randrange(50, 800),
                    "reasoning_tokens": 0,
                    "cost_micros": rng.randrange(100, 9000),
                    "price_source": "usage",
                }
            )
            if len(batch) == 5_000:
                conn.execute(sa.insert(ConversationMessage), batch)
                conn.execute(sa.insert(SpendEntry), ledger)
                batch.clear()
                ledger.clear()
        if batch:
            conn.execute(sa.insert(ConversationMessage), batch)
            conn.execute(sa.insert(SpendEntry), ledger)
    if engine.url.get_backend_name() == "sqlite":
        # Steady state: the seeded rows are moved from the write-ahead log into the database.
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def timed(fn: Callable[[], object]) -> float:
    """Median wall time of RUNS calls, in milliseconds (after one warm-up call)."""
    fn()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure() -> dict[str, float]:
    """Time each dashboard query for user 1 (an admin, so the team view too)."""
    with db.session_scope() as session:
        user = session.get(User, 1)
    since = usage.chart_start()
    queries: dict[str, Callable[[], object]] = {
        "counts": lambda: dashboard.counts_for(user.id),
        "month_totals": lambda: usage.month_totals(user),
        "budget_status": lambda: usage.budget_status(user),
        "daily_usage (30 d, by model)": lambda: usage.daily_usage(user),
        "usage_by_assistant": lambda: usage.usage_by_assistant(user, since=since),
        "recent_conversations": lambda: dashboard.recent_conversations(user),
        "top_assistants": lambda: dashboard.top_assistants(user),
        "whole dashboard_for()": lambda: dashboard.dashboard_for(user),
        "team: whole team_usage()": lambda: dashboard.team_usage(user),
        "team: month_usage_per_user": lambda: usage.month_usage_per_user(user),
        "export_csv (everyone, all time)": lambda: usage.export_csv(user, everyone=True),
    }
    return {name: timed(fn) for name, fn in queries.items()}


def prepare_mariadb(url: str) -> None:
    """Drop and re-create the bench database."""
    parsed = make_url(url)
    conn = pymysql.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 3306,
        user=parsed.username,
        password=parsed.password or "",
    )
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{parsed.database}`")
        cursor.execute(
            f"CREATE DATABASE `{parsed.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    conn.close()


def run_backend(name: str, url: str) -> dict[str, float]:
    """Migrate, seed and measure one backend."""
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    db.reset_engine()
    db.migrate(url)
    start = time.perf_counter()
    seed(db.get_engine())
    print(f"[{name}] seeded {MESSAGES:,} messages in {time.perf_counter() - start:.1f} s")
    results = measure()
    db.reset_engine()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "mariadb", "both"), default="both")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DATA_DIR"] = tmp
        if args.backend in ("sqlite", "both"):
            results["SQLite"] = run_backend("SQLite", f"sqlite:///{tmp}/bench.db")
        if args.backend in ("mariadb", "both"):
            prepare_mariadb(MARIADB_URL)
            results["MariaDB"] = run_backend("MariaDB", MARIADB_URL)
    names = list(next(iter(results.values())))
    print(f"\nMedian of {RUNS} runs, ms (target < {TARGET_MS:.0f} ms per query)")
    print(f"{'query':36}" + "".join(f"{backend:>10}" for backend in results))
    for name in names:
        print(f"{name:36}" + "".join(f"{results[b][name]:10.1f}" for b in results))
    slow = [
        (b, n)
        for b, figures in results.items()
        for n, ms in figures.items()
        if ms > TARGET_MS and not n.startswith(("whole", "team: whole", "export"))
    ]
    print("\nall single queries under target" if not slow else f"\nover target: {slow}")


if __name__ == "__main__":
    main()
