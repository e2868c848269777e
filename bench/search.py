"""Full-text search latency with 100,000 messages, on SQLite (FTS5) or MariaDB (FULLTEXT).

Seeds (bulk insert, through the migrated schema so the triggers / InnoDB keep the index) 10
users, 4,000 conversations and 100,000 messages of 20-80 words drawn from a Zipf-like
vocabulary of 5,000 words; half of the conversations belong to user 1, who then runs 300
searches (common words, rare words, two words, prefixes, a filtered search) through
`services.chat.search.search_conversations`, the function the page calls. Prints p50/p95/max.

    uv run python bench/search.py --backend sqlite
    uv run python bench/search.py --backend mariadb
    BENCH_MARIADB_URL=mysql+pymysql://u:p@host/db uv run python bench/search.py --backend mariadb

The MariaDB database (default `studio_test_bench_search`) is dropped and re-created.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")

from bench.dashboard import prepare_mariadb  # noqa: E402
from core import db  # noqa: E402
from core.config import get_settings  # noqa: E402
from models import Assistant, Conversation, ConversationMessage, Role, User  # noqa: E402
from services.chat.search import SearchFilters, search_conversations  # noqa: E402

MARIADB_URL = os.environ.get(
    "BENCH_MARIADB_URL",
    "mysql+pymysql://studio_test:studio_test@127.0.0.1:3306/studio_test_bench_search",
)
MESSAGES = 100_000
USERS = 10
CONVERSATIONS = 4_000
VOCABULARY = 5_000
QUERIES = 300
TARGET_MS = 100.0
SYLLABLES = "ka lo mi ne ru sa ti vo ze pa de fi gu ho ja le mo nu ri su ta ve wi ya zo"


def vocabulary(rng: random.Random) -> list[str]:
    """VOCABULARY distinct pronounceable words of 2-4 syllables (at least 4 letters)."""
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(SYLLABLES.split()) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def seed(engine: sa.Engine, words: list[str], rng: random.Random) -> None:
    """Bulk-insert the users, assistants, conversations and messages."""
    now = datetime.now(UTC)
    weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))
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
                    "id": uid,
                    "owner_id": uid,
                    "name": f"Assistant {uid}",
                    "description": "",
                    "instructions": "",
                    "model": "gpt-4.1-mini",
                    "tools": [],
                    "shared": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for uid in range(1, USERS + 1)
            ],
        )
        conversations = []
        for cid in range(1, CONVERSATIONS + 1):
            owner = 1 if cid % 2 else (cid % USERS) + 1
            title = " ".join(rng.choices(words, cum_weights=weights, k=4)).capitalize()
            conversations.append(
                {
                    "id": cid,
                    "owner_id": owner,
                    "assistant_id": owner,
                    "title": title,
                    "summary": "",
                    "message_count": MESSAGES // CONVERSATIONS,
                    "created_at": now - timedelta(days=90),
                    "updated_at": now - timedelta(minutes=cid),
                }
            )
        conn.execute(sa.insert(Conversation), conversations)
        batch: list[dict] = []
        for index in range(MESSAGES):
            text = " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(20, 80)))
            batch.append(
                {
                    "conversation_id": (index % CONVERSATIONS) + 1,
                    "role": "assistant" if index % 2 else "user",
                    "content": text.capitalize() + ".",
                    "status": "complete",
                    "attachments": [],
                    "citations": [],
                    "tool_calls": {},
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(batch) == 5_000:
                conn.execute(sa.insert(ConversationMessage), batch)
                batch.clear()
        if batch:
            conn.execute(sa.insert(ConversationMessage), batch)
    if engine.url.get_backend_name() == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        with engine.connect() as conn:  # fold InnoDB's FTS cache into the index, as in steady use
            conn.exec_driver_sql("OPTIMIZE TABLE conversation_message")


def queries(words: list[str], rng: random.Random) -> list[tuple[str, SearchFilters]]:
    """QUERIES searches: common, mid, rare words, two words, prefixes, and a filter."""
    plain = SearchFilters()
    made: list[tuple[str, SearchFilters]] = []
    for n in range(QUERIES):
        kind = n % 6
        if kind == 0:
            made.append((rng.choice(words[:20]), plain))  # very common: thousands of matches
        elif kind == 1:
            made.append((rng.choice(words[200:1000]), plain))
        elif kind == 2:
            made.append((rng.choice(words[3000:]), plain))  # rare
        elif kind == 3:
            made.append((f"{rng.choice(words[:200])} {rng.choice(words[:500])}", plain))
        elif kind == 4:
            made.append((rng.choice(words[:2000])[:4], plain))  # a prefix, as typed
        else:
            made.append((rng.choice(words[:500]), SearchFilters(archived=None, assistant_id=1)))
    return made


def run(url: str, seeded: bool = False) -> None:
    """Migrate, seed (unless `seeded`), search; print the figures."""
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    db.reset_engine()
    db.migrate(url)
    rng = random.Random(15)
    words = vocabulary(rng)
    start = time.perf_counter()
    if not seeded:
        seed(db.get_engine(), words, rng)
        print(f"seeded {MESSAGES:,} messages in {time.perf_counter() - start:.1f} s")
    with db.session_scope() as session:
        user = session.get(User, 1)
    planned = queries(words, random.Random(16))  # the same searches whether seeded now or not
    for query, filters in planned[:10]:  # warm-up
        search_conversations(user, query, filters)
    times: list[float] = []
    hits = 0
    for query, filters in planned:
        began = time.perf_counter()
        page = search_conversations(user, query, filters)
        times.append((time.perf_counter() - began) * 1000)
        hits += len(page.hits)
    times.sort()
    p50 = statistics.median(times)
    p95 = times[int(len(times) * 0.95) - 1]
    verdict = "OK" if p95 < TARGET_MS else "OVER TARGET"
    print(
        f"{len(times)} searches ({hits / len(times):.1f} hits per page): p50 {p50:.1f} ms, "
        f"p95 {p95:.1f} ms, max {times[-1]:.1f} ms (target p95 < {TARGET_MS:.0f} ms: {verdict})"
    )
    db.reset_engine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "mariadb"), default="sqlite")
    parser.add_argument("--keep", help="SQLite file to keep (re-used when it exists)")
    parser.add_argument("--reuse", action="store_true", help="MariaDB: search the last seed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DATA_DIR"] = tmp
        if args.backend == "sqlite":
            print("SQLite (FTS5)")
            path = Path(args.keep or f"{tmp}/bench.db").resolve()
            run(f"sqlite:///{path}", seeded=path.exists())
        else:
            print("MariaDB (InnoDB FULLTEXT)")
            if not args.reuse:
                prepare_mariadb(MARIADB_URL)
            run(MARIADB_URL, seeded=args.reuse)


if __name__ == "__main__":
    main()
