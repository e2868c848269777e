"""Full-text search over the user's conversation titles and message text, ranked, with a
highlighted snippet.

SQLite answers from the FTS5 tables `message_fts` / `conversation_fts` (migrations 0009 and
0015, kept current by triggers), MariaDB from the InnoDB FULLTEXT indexes of 0009 and a scan of
the user's newest messages; `search_backends` says how each finds and scores the candidates.
Here they are ranked per conversation (its best message or title), one page is taken (one row
more tells whether another follows, nothing is counted) and only that page's titles and
snippets are read. User input is never syntax: it is cut into words (letters and digits) and
each word becomes a quoted FTS5 prefix phrase, a `+word*` boolean term or a word-start REGEXP
of letters and digits, so quotes, `*`, `-`, `(`, NEAR, AND, `%` and emoji are plain data.
Temporary chats and other users' conversations are never searched.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from core.db import session_scope
from models import Assistant, Conversation, ConversationMessage, User
from services.accounts.permissions import active_actor
from services.chat.search_backends import (
    Candidate,
    Scope,
    mariadb_candidates,
    sqlite_candidates,
)

WORD = re.compile(r"[^\W_]+")  # letters and digits, as both indexes cut words
MAX_TERMS = 8
PAGE_SIZE = 20
SNIPPET_CHARS = 160
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
    """One page of hits, best first; `has_more` when another page follows. `recent_only`: the
    words matched too many messages to rank them all, so the newest matches were ranked (a
    date range or another word reaches further back)."""

    hits: list[SearchHit]
    has_more: bool
    terms: list[str]
    recent_only: bool = False


def search_terms(query: str, dialect: str) -> list[str]:
    """The words of `query` the backend can look up (lower-cased, at most MAX_TERMS)."""
    words = WORD.findall(query.lower())
    if dialect != "sqlite":
        words = [w for w in words if len(w) >= MARIADB_MIN_TOKEN and w not in MARIADB_STOPWORDS]
    return list(dict.fromkeys(words))[:MAX_TERMS]


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
        params: dict = {"owner": user.id}
        scope = Scope(user.id, _filter_sql(filters, params), params)
        find = sqlite_candidates if dialect == "sqlite" else mariadb_candidates
        candidates, recent_only = find(session, scope, terms)
        ranked = _best_per_conversation(candidates)[offset : offset + limit + 1]
        hits = _hits(session, ranked[:limit], terms)
        return SearchPage(hits, len(ranked) > limit, terms, recent_only)


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


def _best_per_conversation(candidates: list[Candidate]) -> list[Candidate]:
    """One candidate per conversation, best first (ties: the latest activity first); a
    conversation's best message wins over its title for the snippet when both match."""
    best: dict[int, Candidate] = {}
    for candidate in candidates:
        known = best.get(candidate.conversation_id)
        if known is None or candidate.score > known.score:
            message_id = candidate.message_id or (known.message_id if known else None)
            best[candidate.conversation_id] = replace(candidate, message_id=message_id)
        elif known.message_id is None and candidate.message_id is not None:
            best[candidate.conversation_id] = replace(known, message_id=candidate.message_id)
    return sorted(
        best.values(), key=lambda c: (c.score, c.updated_at, c.conversation_id), reverse=True
    )


def _hits(session: Session, ranked: list[Candidate], terms: list[str]) -> list[SearchHit]:
    """The page's hits: titles, assistant names and snippets, read for these rows only."""
    if not ranked:
        return []
    rows = {
        conversation.id: (conversation, name)
        for conversation, name in session.execute(
            sa.select(Conversation, Assistant.name)
            .join(Assistant, Assistant.id == Conversation.assistant_id, isouter=True)
            .where(Conversation.id.in_([c.conversation_id for c in ranked]))
        )
    }
    message_ids = [c.message_id for c in ranked if c.message_id is not None]
    texts = dict(
        session.execute(
            sa.select(ConversationMessage.id, ConversationMessage.content).where(
                ConversationMessage.id.in_(message_ids or [0])
            )
        ).all()
    )
    return [
        SearchHit(
            conversation_id=c.conversation_id,
            title=rows[c.conversation_id][0].title,
            assistant_name=rows[c.conversation_id][1] or "Deleted assistant",
            updated_at=rows[c.conversation_id][0].updated_at,
            snippet_html=snippet_html(
                texts.get(c.message_id, rows[c.conversation_id][0].title), terms
            ),
        )
        for c in ranked
        if c.conversation_id in rows
    ]


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
