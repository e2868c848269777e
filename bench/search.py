"""Full-text search latency with 100,000 messages, on SQLite (FTS5) or MariaDB (FULLTEXT).

Seeds, through the migrated schema (so the triggers / InnoDB keep the index), a team of 40
users with about 6,700 conversations and 100,000 messages, written over 180 days in time order
(message ids grow with time, as in real use). Conversations have 2-50 messages; user messages
have 3-60 words, assistant replies 40-300, drawn from a Zipf vocabulary of 5,000 words (its
top 20 words behave like stopwords such as "the", which the MariaDB stopword list does not
know here). Each user has three assistants and six folders; about a third of the chats sit in
a folder and older ones are often archived.

Two users search: a heavy user who owns 20% of all messages and a light one who owns 2%. Each
runs 320 searches through `services.chat.search.search_conversations` (the function the page
and the API call): a stopword-like word, a common, a mid and a rare word, two words, what the
box sends while a word is typed (its first 2, 3 and 4 letters), a word with one filter
(assistant, folder, archive only or a 30-day range) and a word nobody wrote. Prints p50/p95/max
per user and p95 per kind.

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
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")

from bench.dashboard import prepare_mariadb  # noqa: E402
from core import db  # noqa: E402
from core.config import get_settings  # noqa: E402
from models import (  # noqa: E402
    Assistant,
    Conversation,
    ConversationMessage,
    Folder,
    Role,
    User,
)
from services.chat.search import SearchFilters, search_conversations  # noqa: E402

MARIADB_URL = os.environ.get(
    "BENCH_MARIADB_URL",
    "mysql+pymysql://studio_test:studio_test@127.0.0.1:3306/studio_test_bench_search",
)
MESSAGES = 100_000
USERS = 40
SHARES = {1: 0.20, 2: 0.02}  # the searchers' shares of the messages; the rest split evenly
ASSISTANTS_PER_USER = 3
FOLDERS_PER_USER = 6
DAYS = 180
VOCABULARY = 5_000
QUERIES = 320  # per searcher
TARGET_MS = 100.0
SYLLABLES = "ka lo mi ne ru sa ti vo ze pa de fi gu ho ja le mo nu ri su ta ve wi ya zo"
KINDS = ("stopword", "common", "mid", "rare", "two words", "typing", "filtered", "no match")


@dataclass(frozen=True)
class Planned:
    """One search of the run."""

    kind: str
    query: str
    filters: SearchFilters


def vocabulary(rng: random.Random) -> list[str]:
    """VOCABULARY distinct pronounceable words of 2-4 syllables (at least 4 letters)."""
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(SYLLABLES.split()) for _ in range(rng.randint(2, 4))))
    ranked = sorted(words)
    rng.shuffle(ranked)  # frequency rank unrelated to spelling
    return ranked


def owner_of(rng: random.Random) -> int:
    """A conversation owner: the searchers by their share, the others evenly."""
    draw = rng.random()
    for user_id, share in SHARES.items():
        if draw < share:
            return user_id
        draw -= share
    return rng.randint(len(SHARES) + 1, USERS)


def per_user(count: int, fields: Callable[[int, int], dict], now: datetime) -> list[dict]:
    """`count` rows per user, ids (uid - 1) * count + n for n in 1..count."""
    return [
        {"id": (uid - 1) * count + n, "owner_id": uid, "created_at": now, "updated_at": now}
        | fields(uid, n)
        for uid in range(1, USERS + 1)
        for n in range(1, count + 1)
    ]


def seed(engine: sa.Engine, words: list[str], rng: random.Random) -> None:
    """Bulk-insert the users, assistants, folders, conversations and messages."""
    now = datetime.now(UTC)
    weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))

    def text(count: int) -> str:
        return " ".join(rng.choices(words, cum_weights=weights, k=count)).capitalize() + "."

    # The skeleton first: who owns which conversation, and when each message was written.
    conversations: list[dict] = []
    timeline: list[tuple[datetime, int, str]] = []
    while len(timeline) < MESSAGES:
        cid = len(conversations) + 1
        owner = owner_of(rng)
        length = min(50, max(2, round(rng.expovariate(1 / 15))))
        length = min(length, MESSAGES - len(timeline))
        started = now - timedelta(days=DAYS) + timedelta(seconds=rng.uniform(0, DAYS * 86400))
        times = [started + timedelta(minutes=2 * n) for n in range(length)]
        age = (now - started) / timedelta(days=DAYS)
        conversations.append(
            {
                "id": cid,
                "owner_id": owner,
                "assistant_id": (owner - 1) * ASSISTANTS_PER_USER
                + rng.choices(range(1, ASSISTANTS_PER_USER + 1), weights=(6, 3, 1))[0],
                "title": " ".join(rng.choices(words, cum_weights=weights, k=4)).capitalize(),
                "summary": "",
                "message_count": length,
                "folder_id": (owner - 1) * FOLDERS_PER_USER + rng.randint(1, FOLDERS_PER_USER)
                if rng.random() < 0.35
                else None,
                "archived": rng.random() < 0.4 * age,  # older chats are archived more often
                "created_at": times[0],
                "updated_at": times[-1],
            }
        )
        timeline += [(at, cid, "user" if n % 2 == 0 else "assistant") for n, at in enumerate(times)]
    timeline.sort()
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
            per_user(
                ASSISTANTS_PER_USER,
                lambda uid, n: {
                    "name": f"Assistant {uid}.{n}",
                    "description": "",
                    "instructions": "",
                    "model": "gpt-4.1-mini",
                    "tools": [],
                    "shared": False,
                },
                now,
            ),
        )
        conn.execute(
            sa.insert(Folder),
            per_user(FOLDERS_PER_USER, lambda uid, n: {"name": f"Folder {n}"}, now),
        )
        conn.execute(sa.insert(Conversation), conversations)
        batch: list[dict] = []
        for at, cid, role in timeline:
            short = role == "user"
            batch.append(
                {
                    "conversation_id": cid,
                    "role": role,
                    "content": text(rng.randint(3, 60) if short else rng.randint(40, 300)),
                    "status": "complete",
                    "attachments": [],
                    "citations": [],
                    "tool_calls": {},
                    "created_at": at,
                    "updated_at": at,
                }
            )
            if len(batch) == 5_000:
                conn.execute(sa.insert(ConversationMessage), batch)
                batch.clear()
        if batch:
            conn.execute(sa.insert(ConversationMessage), batch)
    with engine.connect() as conn:
        if engine.url.get_backend_name() == "sqlite":
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:  # fold InnoDB's FTS cache into the index, as in steady use
            conn.exec_driver_sql("OPTIMIZE TABLE conversation_message")
            conn.exec_driver_sql("OPTIMIZE TABLE conversation")


def plan(words: list[str], user_id: int, rng: random.Random) -> list[Planned]:
    """QUERIES searches for `user_id`, the kinds in turn."""
    today = datetime.now(UTC).date()
    made: list[Planned] = []
    plain = SearchFilters()
    first_assistant = (user_id - 1) * ASSISTANTS_PER_USER + 1
    first_folder = (user_id - 1) * FOLDERS_PER_USER + 1
    filters = [
        SearchFilters(assistant_id=first_assistant + 1),
        SearchFilters(folder_id=first_folder + rng.randint(0, FOLDERS_PER_USER - 1)),
        SearchFilters(archived=True),
        SearchFilters(
            archived=None, date_from=today - timedelta(days=120), date_to=today - timedelta(days=90)
        ),
    ]
    while len(made) < QUERIES:
        kind = KINDS[len(made) % len(KINDS)]
        if kind == "stopword":
            made.append(Planned(kind, rng.choice(words[:20]), plain))
        elif kind == "common":
            made.append(Planned(kind, rng.choice(words[20:200]), plain))
        elif kind == "mid":
            made.append(Planned(kind, rng.choice(words[200:1000]), plain))
        elif kind == "rare":
            made.append(Planned(kind, rng.choice(words[1000:]), plain))
        elif kind == "two words":
            query = f"{rng.choice(words[20:500])} {rng.choice(words[20:500])}"
            made.append(Planned(kind, query, plain))
        elif kind == "typing":
            word = rng.choice(words[:2000])
            made.append(Planned(kind, word[: rng.choice((2, 3, 4))], plain))
        elif kind == "filtered":
            word = rng.choice(words[20:1000])
            made.append(Planned(kind, word, filters[len(made) // len(KINDS) % len(filters)]))
        else:
            made.append(Planned(kind, "qx" + rng.choice(words[:1000]), plain))
    return made


def percentile(times: list[float], share: float) -> float:
    """The `share` quantile of sorted `times` (nearest rank)."""
    return times[max(0, int(len(times) * share + 0.5) - 1)]


def measure(user: User, planned: list[Planned]) -> tuple[list[float], dict[str, list[float]]]:
    """Run the searches (after a warm-up); every time in ms, and the times per kind."""
    for search in planned[:16]:
        search_conversations(user, search.query, search.filters)
    times: list[float] = []
    by_kind: dict[str, list[float]] = defaultdict(list)
    for search in planned:
        began = time.perf_counter()
        search_conversations(user, search.query, search.filters)
        took = (time.perf_counter() - began) * 1000
        times.append(took)
        by_kind[search.kind].append(took)
    return sorted(times), {kind: sorted(found) for kind, found in by_kind.items()}


def run(url: str, seeded: bool = False) -> None:
    """Migrate, seed (unless `seeded`), search as each searcher; print the figures."""
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
    worst = 0.0
    for user_id, share in SHARES.items():
        with db.session_scope() as session:
            user = session.get(User, user_id)
        times, by_kind = measure(user, plan(words, user_id, random.Random(16 + user_id)))
        p95 = percentile(times, 0.95)
        worst = max(worst, p95)
        print(
            f"user owning {share:.0%} of the messages, {len(times)} searches: "
            f"p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms"
        )
        print(
            "  p95 by kind: "
            + ", ".join(f"{kind} {percentile(by_kind[kind], 0.95):.0f}" for kind in KINDS)
        )
    verdict = "OK" if worst < TARGET_MS else "OVER TARGET"
    print(f"target p95 < {TARGET_MS:.0f} ms for every searcher: {verdict}")
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
