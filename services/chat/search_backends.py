"""How each database finds and scores the candidates of a search (`services.chat.search` ranks
them and builds the page).

Both return the user's matching messages and titles that pass the filters, each with a score
(higher is better), and say whether only the newest matches were taken because there were too
many to rank them all:

- **SQLite**: the FTS5 tables index each row's owner (migration 0015), so `owner_id : N AND
  content : "word"*` yields only the user's rows, newest first, straight from the index. The
  joins check the filters and the LIMIT stops the walk: bm25 is computed for at most
  CANDIDATES rows however common the words are.
- **MariaDB**: InnoDB's FULLTEXT search costs time in proportion to every message in the
  database containing the word (about 5 µs each here, so a word found in 90,000 messages takes
  half a second), whoever wrote them, before the first row comes out. So the user's newest
  messages are read first, newest conversation first, and tested with a word-start REGEXP,
  stopping at RECENT_MATCHES matches or after SCAN_ROWS rows (`LIMIT ... ROWS EXAMINED`):
  - enough matches: the words are common; these newest matches are ranked (BM25 in Python);
  - the scan ran out of the user's messages: it saw them all, the result is complete;
  - otherwise the words are rare in the user's messages: FULLTEXT answers (all matches), with
    only the rarest word sent to InnoDB (its share of a sample of recent messages estimates
    what it costs) and the other words checked by REGEXP. When even that word is estimated in
    more than FULLTEXT_MAX_DOCS messages, the few recent matches found are ranked instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

CANDIDATES = 1000  # the most matching messages (and titles) scored for one search
TITLE_WEIGHT = 2  # a title hit counts twice a message hit
RECENT_MATCHES = 200  # MariaDB: matches found among the newest messages that make a word common
SCAN_ROWS = 2000  # MariaDB: rows the newest-first scan may examine
SAMPLE_ROWS = 300  # MariaDB: newest messages sampled to estimate how common each word is
FULLTEXT_MAX_DOCS = 3000  # MariaDB: InnoDB gathers fewer matches than this (an estimate)
BM25_K1, BM25_B = 1.2, 0.75


@dataclass(frozen=True)
class Candidate:
    """A matching message (or title, `message_id` None); `score` higher is better."""

    message_id: int | None
    conversation_id: int
    updated_at: datetime
    score: float


@dataclass(frozen=True)
class Scope:
    """Whose rows and which filters: `where` is SQL on the conversation `c`, with `params`."""

    owner_id: int
    where: str
    params: dict


CANDIDATE_COLUMNS = {
    "message_id": sa.Integer,
    "conversation_id": sa.Integer,
    "updated_at": sa.DateTime,
    "score": sa.Float,
}


def _candidates(session: Session, sql: str, params: dict) -> list[Candidate]:
    statement = sa.text(sql).columns(**{name: kind() for name, kind in CANDIDATE_COLUMNS.items()})
    return [Candidate(*row) for row in session.execute(statement, params)]


# ---------------------------------------------------------------- SQLite


def fts5_query(terms: list[str], column: str, owner_id: int) -> str:
    """An FTS5 MATCH string for one owner's rows: every term a quoted prefix phrase in
    `column`, all required."""
    phrases = " ".join(f'{column} : "' + term.replace('"', '""') + '"*' for term in terms)
    return f'owner_id : "{int(owner_id)}" AND {phrases}'


def sqlite_candidates(
    session: Session, scope: Scope, terms: list[str]
) -> tuple[list[Candidate], bool]:
    """The newest CANDIDATES matching messages and titles of the scope, bm25-scored."""
    params = scope.params | {
        "cap": CANDIDATES,
        "q": fts5_query(terms, "content", scope.owner_id),
        "title_q": fts5_query(terms, "title", scope.owner_id),
    }
    messages = _candidates(
        session,
        f"""SELECT message_fts.rowid AS message_id, m.conversation_id, c.updated_at,
            -bm25(message_fts, 1.0, 0.0) AS score
        FROM message_fts JOIN conversation_message m ON m.id = message_fts.rowid
        JOIN conversation c ON c.id = m.conversation_id
        WHERE message_fts MATCH :q AND {scope.where}
        ORDER BY message_fts.rowid DESC LIMIT :cap""",
        params,
    )
    titles = _candidates(
        session,
        f"""SELECT NULL AS message_id, c.id AS conversation_id, c.updated_at,
            -{TITLE_WEIGHT} * bm25(conversation_fts, 1.0, 0.0) AS score
        FROM conversation_fts JOIN conversation c ON c.id = conversation_fts.rowid
        WHERE conversation_fts MATCH :title_q AND {scope.where}
        ORDER BY conversation_fts.rowid DESC LIMIT :cap""",
        params,
    )
    return messages + titles, CANDIDATES in (len(messages), len(titles))


# ---------------------------------------------------------------- MariaDB

# The user's messages newest conversation first, read through the (owner, updated_at) and
# (conversation, id) indexes: the ORDER BY needs no sort, so a LIMIT stops the walk.
NEWEST_MESSAGES = """FROM conversation c FORCE INDEX (ix_conversation_owner_updated)
    JOIN conversation_message m FORCE INDEX (ix_message_conversation_id)
    ON m.conversation_id = c.id"""


def word_start(term: str) -> str:
    """A REGEXP matching `term` at the start of a word, any case (as a FULLTEXT prefix term
    matches). Terms are letters and digits only, never regex syntax."""
    return r"(?i)\b" + term


def _regexp_all(column: str, terms: list[str], params: dict, prefix: str) -> str:
    """`column` REGEXP every term, binding the patterns into `params`."""
    clauses = []
    for n, term in enumerate(terms):
        params[f"{prefix}{n}"] = word_start(term)
        clauses.append(f"{column} REGEXP :{prefix}{n}")
    return " AND ".join(clauses) or "1 = 1"


def mariadb_candidates(
    session: Session, scope: Scope, terms: list[str]
) -> tuple[list[Candidate], bool]:
    """A sample of the newest messages decides: FULLTEXT for rare words, else a scan of the
    newest messages (complete when the sample already held all of them)."""
    shares, sampled, total = _sample(session, scope, terms)
    if sampled < SAMPLE_ROWS:  # the sample held every message of the scope
        return _newest_matches(session, scope, terms, CANDIDATES)
    rarest = min(range(len(terms)), key=shares.__getitem__)
    if shares[rarest] * total < FULLTEXT_MAX_DOCS:
        return _fulltext(session, scope, terms, terms[rarest])
    return _newest_matches(session, scope, terms, RECENT_MATCHES)


def _sample(session: Session, scope: Scope, terms: list[str]) -> tuple[list[float], int, int]:
    """Each term's share of the scope's newest SAMPLE_ROWS messages, how many there were, and
    the number of messages in the database (their product estimates what FULLTEXT gathers)."""
    params = scope.params | {"sample": SAMPLE_ROWS}
    params |= {f"s{n}": word_start(term) for n, term in enumerate(terms)}
    flags = ", ".join(f"m.content REGEXP :s{n}" for n in range(len(terms)))
    rows = session.execute(
        sa.text(f"""SELECT STRAIGHT_JOIN (SELECT MAX(id) FROM conversation_message), {flags}
        {NEWEST_MESSAGES}
        WHERE {scope.where} ORDER BY c.updated_at DESC LIMIT :sample"""),
        params,
    ).all()
    if not rows:
        return [0.0] * len(terms), 0, 0
    shares = [sum(bool(row[n + 1]) for row in rows) / len(rows) for n in range(len(terms))]
    return shares, len(rows), rows[0][0] or 0


def _newest_matches(
    session: Session, scope: Scope, terms: list[str], limit: int
) -> tuple[list[Candidate], bool]:
    """The scope's newest `limit` matching messages among the newest SCAN_ROWS rows examined,
    BM25-scored, with the titles of the conversations they span."""
    params = scope.params | {"limit": limit, "rows": SCAN_ROWS}
    matching = _regexp_all("m.content", terms, params, "p")
    result = session.execute(
        sa.text(f"""SELECT STRAIGHT_JOIN m.id, m.conversation_id, c.updated_at, m.content
        {NEWEST_MESSAGES}
        WHERE {scope.where} AND {matching}
        ORDER BY c.updated_at DESC LIMIT :limit ROWS EXAMINED :rows""").columns(
            updated_at=sa.DateTime()
        ),
        params,
    )
    interrupted = bool(result.cursor.warning_count)  # the ROWS EXAMINED bound was reached
    rows = result.all()
    partial = interrupted or len(rows) == limit  # older messages were not tested
    messages = [
        Candidate(row.id, row.conversation_id, row.updated_at, score)
        for row, score in zip(rows, bm25([row.content for row in rows], terms), strict=True)
    ]
    since = rows[-1].updated_at if partial and rows else None
    return messages + _recent_titles(session, scope, terms, since), partial


def _fulltext(
    session: Session, scope: Scope, terms: list[str], rarest: str
) -> tuple[list[Candidate], bool]:
    """Every match, through the FULLTEXT index for `rarest` and REGEXP for the other terms."""
    others = [term for term in terms if term != rarest]
    params = scope.params | {"cap": CANDIDATES, "q": f"+{rarest}*"}
    in_messages = _regexp_all("m.content", others, params, "p")
    in_titles = _regexp_all("c.title", others, params, "t")
    messages = _candidates(
        session,
        f"""SELECT m.id AS message_id, m.conversation_id, c.updated_at,
            MATCH(m.content) AGAINST (:q IN BOOLEAN MODE) AS score
        FROM conversation_message m JOIN conversation c ON c.id = m.conversation_id
        WHERE MATCH(m.content) AGAINST (:q IN BOOLEAN MODE) AND {in_messages}
        AND {scope.where}
        ORDER BY m.id DESC LIMIT :cap""",
        params,
    )
    titles = _candidates(
        session,
        f"""SELECT NULL AS message_id, c.id AS conversation_id, c.updated_at,
            {TITLE_WEIGHT} * MATCH(c.title) AGAINST (:q IN BOOLEAN MODE) AS score
        FROM conversation c
        WHERE MATCH(c.title) AGAINST (:q IN BOOLEAN MODE) AND {in_titles} AND {scope.where}
        ORDER BY c.id DESC LIMIT :cap""",
        params,
    )
    return messages + titles, CANDIDATES in (len(messages), len(titles))


def _recent_titles(
    session: Session, scope: Scope, terms: list[str], since: datetime | None
) -> list[Candidate]:
    """The scope's titles containing every term (in conversations active `since`, when the
    message scan stopped there), BM25-scored like the messages, TITLE_WEIGHT times."""
    params = scope.params | {"cap": CANDIDATES, "since": since}
    matching = _regexp_all("c.title", terms, params, "t")
    bound = "AND c.updated_at >= :since" if since else ""
    rows = session.execute(
        sa.text(f"""SELECT c.id, c.updated_at, c.title
        FROM conversation c FORCE INDEX (ix_conversation_owner_updated)
        WHERE {scope.where} {bound} AND {matching}
        ORDER BY c.updated_at DESC LIMIT :cap""").columns(updated_at=sa.DateTime()),
        params,
    ).all()
    scores = bm25([row.title for row in rows], terms)
    return [
        Candidate(None, row.id, row.updated_at, TITLE_WEIGHT * score)
        for row, score in zip(rows, scores, strict=True)
    ]


def bm25(texts: list[str], terms: list[str]) -> list[float]:
    """BM25 term-frequency scores of texts that all contain every term (so every term has the
    same document frequency among them and idf drops out); lengths in characters, and a term
    counted wherever it occurs (a fast count: the REGEXP already checked word starts)."""
    if not texts:
        return []
    average = sum(map(len, texts)) / len(texts) or 1.0
    scores = []
    for text in texts:
        norm = BM25_K1 * (1 - BM25_B + BM25_B * len(text) / average)
        folded = text.lower()
        frequencies = (folded.count(term) for term in terms)
        scores.append(math.fsum(tf * (BM25_K1 + 1) / (tf + norm) for tf in frequencies))
    return scores
