"""Full-text search over the user's conversation titles and message text, ranked, with a
highlighted snippet.

SQLite answers from the FTS5 tables `message_fts` / `conversation_fts` (bm25, lower is better);
MariaDB from the InnoDB FULLTEXT indexes (`MATCH ... AGAINST` in boolean mode, higher is
better). Both are built by migration 0009 and kept current on every write (triggers on SQLite,
InnoDB itself on MariaDB). User input is never syntax: it is cut into words (letters and
digits) and each word becomes a quoted FTS5 prefix phrase or a `+word*` boolean term, so
quotes, `*`, `-`, `(`, NEAR, AND, `%` and emoji are plain data. Temporary chats and other
users' conversations are never searched.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from core.db import session_scope
from models import Assistant, Conversation, User
from services.accounts.permissions import active_actor

WORD = re.compile(r"[^\W_]+")  # letters and digits, as both indexes cut words
MAX_TERMS = 8
PAGE_SIZE = 20
SNIPPET_CHARS = 160
TITLE_WEIGHT = 2  # a title hit counts twice a message hit
# SQLite ranks (bm25) at most the user's newest CANDIDATES matching messages: finding them is
# an index walk, but scoring costs per match, and a word found in every message would cost
# ~1 s at 100,000 messages. Rarer words (the ones worth ranking) are ranked over all matches.
CANDIDATES = 1000
# InnoDB ignores words shorter than innodb_ft_min_token_size (default 3) and its default
# stopwords; a required (+) term it ignores would match nothing, so those words are left out.
MARIADB_MIN_TOKEN = 3
MARIADB_STOPWORDS = frozenset(
    [
        "a",
        "about",
        "an",
        "are",
        "as",
        "at",
        "be",
        "by",
        "com",
        "de",
        "en",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "la",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "who",
        "will",
        "with",
        "und",
        "www",
    ]
)


@dataclass(frozen=True)
class SearchFilters:
    """Narrow a search. `archived`: False = the list only, True = the archive only, None = both;
    the dates bound the conversation's last activity (UTC days, both inclusive)."""

    assistant_id: int | None = None
    folder_id: int | None = None
    archived: bool | None = False
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class SearchHit:
    """One matching conversation; `snippet_html` is escaped text with `<mark>` around matches."""

    conversation_id: int
    title: str
    assistant_name: str
    updated_at: datetime
    snippet_html: str


@dataclass(frozen=True)
class SearchPage:
    """One page of hits, best first; `has_more` when another page follows."""

    hits: list[SearchHit]
    has_more: bool
    terms: list[str]


def search_terms(query: str, dialect: str) -> list[str]:
    """The words of `query` the backend can look up (lower-cased, at most MAX_TERMS)."""
    words = WORD.findall(query.lower())
    if dialect != "sqlite":
        words = [w for w in words if len(w) >= MARIADB_MIN_TOKEN and w not in MARIADB_STOPWORDS]
    return list(dict.fromkeys(words))[:MAX_TERMS]


def fts5_query(terms: list[str]) -> str:
    """An FTS5 MATCH string: every term a quoted prefix phrase, all required."""
    return " ".join('"' + term.replace('"', '""') + '"*' for term in terms)


def boolean_query(terms: list[str]) -> str:
    """A MATCH ... AGAINST boolean-mode string: every term required, as a prefix."""
    return " ".join(f"+{term}*" for term in terms)


def search_conversations(
    user: User,
    query: str,
    filters: SearchFilters = SearchFilters(),
    offset: int = 0,
    limit: int = PAGE_SIZE,
) -> SearchPage:
    """The user's conversations whose title or messages contain every word of `query`."""
    with session_scope() as session:
        active_actor(session, user)
        dialect = session.get_bind().dialect.name
        terms = search_terms(query, dialect)
        if not terms:
            return SearchPage([], False, [])
        ranked = _ranked_ids(session, user, terms, filters, dialect, offset, limit + 1)
        has_more = len(ranked) > limit
        ranked = ranked[:limit]
        texts = _best_texts(session, user, terms, dialect, ranked)
        rows = {
            conversation.id: (conversation, name)
            for conversation, name in session.execute(
                sa.select(Conversation, Assistant.name)
                .join(Assistant, Assistant.id == Conversation.assistant_id, isouter=True)
                .where(Conversation.id.in_(ranked or [0]))
            )
        }
        hits = [
            SearchHit(
                conversation_id=cid,
                title=rows[cid][0].title,
                assistant_name=rows[cid][1] or "Deleted assistant",
                updated_at=rows[cid][0].updated_at,
                snippet_html=snippet_html(texts.get(cid, rows[cid][0].title), terms),
            )
            for cid in ranked
            if cid in rows
        ]
        return SearchPage(hits, has_more, terms)


def _filter_sql(filters: SearchFilters, params: dict) -> str:
    """The WHERE fragments for the filters on `c` (the conversation), binding into `params`."""
    clauses = ["c.owner_id = :owner", "c.temporary = :false"]
    params["false"] = False
    if filters.archived is not None:
        clauses.append("c.archived = :archived")
        params["archived"] = filters.archived
    if filters.assistant_id is not None:
        clauses.append("c.assistant_id = :assistant")
        params["assistant"] = filters.assistant_id
    if filters.folder_id is not None:
        clauses.append("c.folder_id = :folder")
        params["folder"] = filters.folder_id
    if filters.date_from is not None:
        clauses.append("c.updated_at >= :date_from")
        params["date_from"] = _day_start(filters.date_from)
    if filters.date_to is not None:
        clauses.append("c.updated_at < :date_to")
        params["date_to"] = _day_start(filters.date_to + timedelta(days=1))
    return " AND ".join(clauses)


def _day_start(day: date) -> datetime:
    # Stored naive on SQLite and as DATETIME(6) on MariaDB, both in UTC.
    return datetime.combine(day, time.min, tzinfo=UTC).replace(tzinfo=None)


def _ranked_ids(
    session: Session,
    user: User,
    terms: list[str],
    filters: SearchFilters,
    dialect: str,
    offset: int,
    limit: int,
) -> list[int]:
    params: dict = {"owner": user.id, "limit": limit, "offset": offset}
    where = _filter_sql(filters, params)
    if dialect == "sqlite":
        params["q"] = fts5_query(terms)
        params["floor"] = _candidate_floor(session, user, params["q"])
        hits = f"""
            SELECT m.conversation_id AS conversation_id, bm25(message_fts) AS score
            FROM message_fts JOIN conversation_message m ON m.id = message_fts.rowid
            WHERE message_fts MATCH :q AND message_fts.rowid >= :floor
            UNION ALL
            SELECT conversation_fts.rowid, {TITLE_WEIGHT} * bm25(conversation_fts)
            FROM conversation_fts WHERE conversation_fts MATCH :q"""
        best, order = "MIN(hit.score)", "ASC"
    else:
        params["q"] = boolean_query(terms)
        hits = f"""
            SELECT m.conversation_id AS conversation_id,
                   MATCH(m.content) AGAINST (:q IN BOOLEAN MODE) AS score
            FROM conversation_message m WHERE MATCH(m.content) AGAINST (:q IN BOOLEAN MODE)
            UNION ALL
            SELECT t.id, {TITLE_WEIGHT} * MATCH(t.title) AGAINST (:q IN BOOLEAN MODE)
            FROM conversation t WHERE MATCH(t.title) AGAINST (:q IN BOOLEAN MODE)"""
        best, order = "MAX(hit.score)", "DESC"
    statement = sa.text(f"""
        SELECT hit.conversation_id, {best} AS best, MAX(c.updated_at) AS touched
        FROM ({hits}) hit JOIN conversation c ON c.id = hit.conversation_id
        WHERE {where}
        GROUP BY hit.conversation_id
        ORDER BY best {order}, touched DESC, hit.conversation_id DESC
        LIMIT :limit OFFSET :offset""")
    return [row[0] for row in session.execute(statement, params)]


def _candidate_floor(session: Session, user: User, query: str) -> int:
    """The id of the user's CANDIDATES-th newest matching message (0 when there are fewer)."""
    statement = sa.text("""
        SELECT message_fts.rowid FROM message_fts
        JOIN conversation_message m ON m.id = message_fts.rowid
        JOIN conversation c ON c.id = m.conversation_id
        WHERE message_fts MATCH :q AND c.owner_id = :owner AND c.temporary = :false
        ORDER BY message_fts.rowid DESC LIMIT 1 OFFSET :skip""")
    params = {"q": query, "owner": user.id, "false": False, "skip": CANDIDATES - 1}
    return session.execute(statement, params).scalar() or 0


def _best_texts(
    session: Session, user: User, terms: list[str], dialect: str, conversation_ids: list[int]
) -> dict[int, str]:
    """The best-ranked matching message text of each conversation (none for title-only hits)."""
    if not conversation_ids:
        return {}
    ids = sa.bindparam("ids", expanding=True)
    params: dict = {"ids": conversation_ids}
    if dialect == "sqlite":
        statement = sa.text("""
            SELECT m.conversation_id, m.content FROM message_fts
            JOIN conversation_message m ON m.id = message_fts.rowid
            WHERE message_fts MATCH :q AND message_fts.rowid >= :floor
            AND m.conversation_id IN :ids
            ORDER BY bm25(message_fts)""").bindparams(ids)
        params["q"] = fts5_query(terms)
        params["floor"] = _candidate_floor(session, user, params["q"])
    else:
        statement = sa.text("""
            SELECT m.conversation_id, m.content FROM conversation_message m
            WHERE MATCH(m.content) AGAINST (:q IN BOOLEAN MODE) AND m.conversation_id IN :ids
            ORDER BY MATCH(m.content) AGAINST (:q IN BOOLEAN MODE) DESC""").bindparams(ids)
        params["q"] = boolean_query(terms)
    texts: dict[int, str] = {}
    for conversation_id, content in session.execute(statement, params):
        texts.setdefault(conversation_id, content)
    return texts


def snippet_html(text: str, terms: list[str], width: int = SNIPPET_CHARS) -> str:
    """A window of `text` around its first match, HTML-escaped, each matching word in <mark>."""
    text = " ".join(text.split())
    if not terms:
        return html.escape(text[:width])
    words = "|".join(re.escape(term) for term in sorted(terms, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)(?:{words})\w*", re.IGNORECASE)
    first = pattern.search(text)
    start = max(0, first.start() - width // 3) if first else 0
    if start:  # begin on a word boundary
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < (first.start() if first else start + 20) else start
    window = text[start : start + width]
    parts = ["…"] if start else []
    position = 0
    for match in pattern.finditer(window):
        parts.append(html.escape(window[position : match.start()]))
        parts.append(f"<mark>{html.escape(match.group(0))}</mark>")
        position = match.end()
    parts.append(html.escape(window[position:]))
    if start + width < len(text):
        parts.append("…")
    return "".join(parts)
