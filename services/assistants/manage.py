"""Assistants: create, edit, duplicate, delete and list them with ownership and sharing rules.

Visibility (decided by `services.accounts.permissions`): the owner, every team member when
`shared` (or only the members of the groups it is shared with), and admins. Editing: the owner or an
admin. Anything a user may not see raises NotFound, exactly like a missing id. Blocking: pages
call these through `run.io_bound`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, func, select

from core.config import Settings, get_settings
from core.db import contains_pattern, session_scope
from core.errors import NotFound, PermissionDenied, Unavailable, ValidationError
from models import (
    TOOL_NAMES,
    Assistant,
    Conversation,
    FilePurpose,
    FileStatus,
    Role,
    StoredFile,
    User,
    as_utc,
    utcnow,
)
from services.accounts import audit, groups
from services.accounts.permissions import active_actor, assistant_visible_to, can_use_assistant
from services.files.upstream import assistant_upstream, purge_upstream
from services.llm.catalog import load_catalog
from services.usage.pricing import MICROS_PER_USD, parse_usd

log = logging.getLogger(__name__)

MAX_NAME = 100
MAX_DESCRIPTION = 500
MAX_INSTRUCTIONS = 32_000
MAX_MODEL_ID = 100
SORTS = ("recent", "name")
NOT_FOUND = "This assistant does not exist or is not shared with you."
TOOL_LABELS = {
    "web_search": "Web search",
    "file_search": "File search",
    "code_interpreter": "Code interpreter",
}


def _default_model() -> str:
    return get_settings().default_model


@dataclass
class AssistantInput:
    """What the assistant form submits."""

    name: str
    description: str = ""
    instructions: str = ""
    model: str = field(default_factory=_default_model)
    temperature: float | None = None
    top_p: float | None = None
    tools: list[str] = field(default_factory=list)
    shared: bool = False
    monthly_budget_usd: str = ""
    reasoning_effort: str | None = None
    # When shared: the groups it is limited to (empty: the whole team).
    group_ids: list[int] = field(default_factory=list)

    @classmethod
    def from_assistant(cls, assistant: Assistant) -> AssistantInput:
        """The form values of a stored assistant."""
        return cls(
            name=assistant.name,
            description=assistant.description,
            instructions=assistant.instructions,
            model=assistant.model,
            temperature=assistant.temperature,
            top_p=assistant.top_p,
            tools=list(assistant.tools or []),
            shared=assistant.shared,
            monthly_budget_usd=budget_text(assistant.monthly_budget_micros),
            reasoning_effort=assistant.reasoning_effort,
        )


def budget_text(micros: int | None) -> str:
    """A stored budget as the dollars a person typed ("" = no budget)."""
    if micros is None:
        return ""
    text = f"{Decimal(micros) / MICROS_PER_USD:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class AssistantSummary:
    """One row of the assistants list (every figure computed in one SQL query)."""

    id: int
    name: str
    description: str
    model: str
    model_label: str
    tools: list[str]
    shared: bool
    owner_id: int
    owner_name: str
    knowledge_files: int
    conversations: int
    last_used_at: datetime | None
    updated_at: datetime
    can_edit: bool
    is_mine: bool


@dataclass(frozen=True)
class ModelChoice:
    """A model the form offers: what it costs (None: unknown) and what it can do."""

    id: str
    label: str
    prices: str | None
    vision: bool
    tools: tuple[str, ...]
    temperature: bool = True  # whether the model accepts Temperature / Top P
    top_p: bool = True
    reasoning_efforts: tuple[str, ...] = ()


REASONING_EFFORT_LABELS = {
    "minimal": "Minimal (fastest)",
    "low": "Low",
    "medium": "Medium",
    "high": "High (most thorough)",
}


def _usd(price: Decimal) -> str:
    return f"${price:,.2f}" if price == price.quantize(Decimal("0.01")) else f"${price.normalize()}"


def model_choices(
    current: str | None = None, settings: Settings | None = None
) -> list[ModelChoice]:
    """The catalog's models for the model select; `current` is kept if the catalog lacks it."""
    settings = settings or get_settings()
    no_tools = settings.llm_api == "chat_completions"
    choices = [
        ModelChoice(
            id=model.id,
            label=model.label,
            prices=f"{_usd(model.input_price)} in / {_usd(model.output_price)} out per 1M tokens",
            vision=model.vision,
            tools=() if no_tools else tuple(t for t in TOOL_NAMES if t in model.tools),
            temperature=model.traits.temperature,
            top_p=model.traits.top_p,
            reasoning_efforts=model.traits.reasoning_efforts,
        )
        for model in load_catalog(settings).models
    ]
    if current and all(choice.id != current for choice in choices):
        traits = load_catalog(settings).traits(current)
        choices.append(
            ModelChoice(
                current,
                current,
                None,
                False,
                () if no_tools else TOOL_NAMES,
                traits.temperature,
                traits.top_p,
                traits.reasoning_efforts,
            )
        )
    return choices


def tool_notes(settings: Settings | None = None) -> dict[str, str]:
    """A one-line price note per built-in tool, from the catalog."""
    prices = load_catalog(settings or get_settings()).tool_prices
    return {
        "web_search": f"{_usd(prices.web_search_per_1k_calls)} per 1,000 searches",
        "file_search": f"{_usd(prices.file_search_per_1k_calls)} per 1,000 searches, "
        f"storage {_usd(prices.file_storage_per_gb_day)} per GB per day",
        "code_interpreter": f"{_usd(prices.code_interpreter_per_session)} per session",
    }


def tool_support(model_id: str, settings: Settings | None = None) -> dict[str, str | None]:
    """For each built-in tool: None when usable with this model and provider, else the reason."""
    settings = settings or get_settings()
    if settings.llm_api == "chat_completions":
        reason = "Not available: the Chat Completions provider has no built-in tools."
        return dict.fromkeys(TOOL_NAMES, reason)
    model = load_catalog(settings).get(model_id)
    if model is None:
        return dict.fromkeys(TOOL_NAMES)
    return {
        tool: None if tool in model.tools else f"Not supported by {model.label}."
        for tool in TOOL_NAMES
    }


def validate_input(data: AssistantInput, allow_unknown_model: bool = True) -> AssistantInput:
    """A cleaned copy of `data`, or ValidationError naming the offending field."""
    name = data.name.strip()
    if not name:
        raise ValidationError("Give the assistant a name.", "name")
    if len(name) > MAX_NAME:
        raise ValidationError(f"Use at most {MAX_NAME} characters.", "name")
    description = data.description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise ValidationError(f"Use at most {MAX_DESCRIPTION} characters.", "description")
    if len(data.instructions) > MAX_INSTRUCTIONS:
        raise ValidationError(f"Use at most {MAX_INSTRUCTIONS:,} characters.", "instructions")
    model = data.model.strip()
    if not model or len(model) > MAX_MODEL_ID:
        raise ValidationError("Choose a model.", "model")
    if not allow_unknown_model and load_catalog(get_settings()).get(model) is None:
        raise ValidationError(
            "Choose a model from the catalog; only administrators can enter another model id.",
            "model",
        )
    # Parameters the model refuses are dropped, never sent (gpt-5*, o-series: HTTP 400).
    traits = load_catalog(get_settings()).traits(model)
    temperature = data.temperature if traits.temperature else None
    top_p = data.top_p if traits.top_p else None
    effort = data.reasoning_effort or None
    if effort is not None and effort not in traits.reasoning_efforts:
        raise ValidationError(
            "This model has no such reasoning effort; choose one from the list.",
            "reasoning_effort",
        )
    if temperature is not None and not 0 <= temperature <= 2:
        raise ValidationError("Temperature must be between 0 and 2.", "temperature")
    if top_p is not None and not 0 <= top_p <= 1:
        raise ValidationError("Top P must be between 0 and 1.", "top_p")
    tools = [tool for tool in TOOL_NAMES if tool in set(data.tools)]
    unknown = set(data.tools) - set(TOOL_NAMES)
    if unknown:
        raise ValidationError(f"Unknown tool: {', '.join(sorted(unknown))}.", "tools")
    for tool, reason in tool_support(model).items():
        if tool in tools and reason:
            raise ValidationError(f"{TOOL_LABELS[tool]}: {reason}", "tools")
    return AssistantInput(
        name=name,
        description=description,
        instructions=data.instructions,
        model=model,
        temperature=temperature,
        top_p=top_p,
        tools=tools,
        shared=bool(data.shared),
        monthly_budget_usd=budget_text(parse_usd(data.monthly_budget_usd, "monthly_budget")),
        reasoning_effort=effort,
        group_ids=[int(g) for g in data.group_ids] if data.shared else [],
    )


def _is_admin(user: User) -> bool:
    return user.role == Role.admin


def _can_edit(user: User, assistant: Assistant) -> bool:
    return assistant.owner_id == user.id or _is_admin(user)


def load_for_use(session: Session, user: User, assistant_id: int) -> Assistant:
    """The assistant if `user` may see it, inside an open session; else NotFound."""
    user = active_actor(session, user)
    assistant = session.get(Assistant, assistant_id)
    if not can_use_assistant(session, user, assistant):
        if assistant is not None:
            audit.record("access.refused", user, kind="assistant", id=assistant_id)
        raise NotFound(NOT_FOUND)
    return assistant


# `last_used_at` (the "recently used" order) is written at most this often, in its own short
# transaction after the send's: the write locks the assistant's row, and inside the send's
# transaction every send of a shared assistant waited for the one before it (MariaDB).
LAST_USED_RESOLUTION = timedelta(minutes=1)


def note_use(session: Session, assistant: Assistant, now: datetime) -> None:
    """Record a use of `assistant` once the caller's transaction commits, unless one was
    recorded less than LAST_USED_RESOLUTION ago (by this send's reading or, checked again in
    the write, by a send that committed meanwhile). A failed write is only logged."""
    last = assistant.last_used_at
    if last is not None and now - as_utc(last) < LAST_USED_RESOLUTION:
        return
    assistant_id = assistant.id

    def write(_committed: Session) -> None:
        recent = now - LAST_USED_RESOLUTION
        try:
            with session_scope() as own:
                own.execute(
                    sa.update(Assistant)
                    .where(
                        Assistant.id == assistant_id,
                        sa.or_(Assistant.last_used_at.is_(None), Assistant.last_used_at < recent),
                    )
                    .values(last_used_at=now)
                )
        except (Unavailable, sa.exc.SQLAlchemyError):  # the send itself is saved already
            log.warning("Assistant %s: last use not recorded", assistant_id, exc_info=True)

    sa.event.listen(session, "after_commit", write, once=True)


def load_for_edit(session: Session, user: User, assistant_id: int) -> Assistant:
    """The assistant if `user` may change it, inside an open session; else NotFound or
    PermissionDenied."""
    user = active_actor(session, user)
    assistant = load_for_use(session, user, assistant_id)
    if not _can_edit(user, assistant):
        raise PermissionDenied("Only the owner or an admin can change this assistant.")
    return assistant


COPIED_BUDGET = (
    "This budget was copied from the assistant this one duplicates: only that assistant's "
    "owner or an admin can change it."
)


def may_change_budget(user: User, assistant: Assistant) -> bool:
    """False for a duplicate's copied budget unless `user` owns the original or is an admin."""
    locked_by = assistant.budget_owner_id
    return locked_by is None or locked_by == user.id or _is_admin(user)


def _apply(assistant: Assistant, data: AssistantInput) -> None:
    assistant.name = data.name
    assistant.description = data.description
    assistant.instructions = data.instructions
    assistant.model = data.model
    assistant.temperature = data.temperature
    assistant.top_p = data.top_p
    assistant.reasoning_effort = data.reasoning_effort
    assistant.tools = list(data.tools)
    assistant.shared = data.shared
    assistant.monthly_budget_micros = parse_usd(data.monthly_budget_usd, "monthly_budget")


def create_assistant(user: User, data: AssistantInput) -> Assistant:
    """A new assistant owned by `user`."""
    with session_scope() as session:
        actor = active_actor(session, user)
        clean = validate_input(data, allow_unknown_model=_is_admin(actor))
        assistant = Assistant(owner_id=user.id, name=clean.name, model=clean.model)
        _apply(assistant, clean)
        session.add(assistant)
        session.flush()
        groups.set_shared_groups(session, actor, assistant, clean.group_ids)
        session.refresh(assistant)
        return assistant


def get_assistant_for_use(user: User, assistant_id: int) -> Assistant:
    """An assistant `user` may chat with (own, shared or admin), else NotFound."""
    with session_scope() as session:
        return load_for_use(session, user, assistant_id)


def shared_with_groups(user: User, assistant_id: int) -> list[int]:
    """The groups a shared assistant `user` may see is limited to (empty: the whole team)."""
    with session_scope() as session:
        load_for_use(session, user, assistant_id)
        return groups.shared_group_ids(session, assistant_id)


def get_assistant_for_edit(user: User, assistant_id: int) -> Assistant:
    """An assistant `user` may change; PermissionDenied for a teammate's shared one."""
    with session_scope() as session:
        return load_for_edit(session, user, assistant_id)


def can_edit(user: User, assistant: Assistant) -> bool:
    """True when `user` owns the assistant or is an admin."""
    return _can_edit(user, assistant)


def update_assistant(user: User, assistant_id: int, data: AssistantInput) -> Assistant:
    """Save new settings (owner or admin only)."""
    with session_scope() as session:
        assistant = load_for_edit(session, user, assistant_id)
        keeps_model = data.model.strip() == assistant.model
        allow_unknown = keeps_model or _is_admin(active_actor(session, user))
        clean = validate_input(data, allow_unknown_model=allow_unknown)
        budget = parse_usd(clean.monthly_budget_usd, "monthly_budget")
        if budget != assistant.monthly_budget_micros and not may_change_budget(
            active_actor(session, user), assistant
        ):
            raise ValidationError(COPIED_BUDGET, "monthly_budget")
        _apply(assistant, clean)
        assistant.updated_at = utcnow()
        session.add(assistant)
        session.flush()
        groups.set_shared_groups(session, active_actor(session, user), assistant, clean.group_ids)
        session.refresh(assistant)
        return assistant


def copy_name(name: str) -> str:
    """The name of a duplicate, kept within the length limit."""
    return f"Copy of {name}"[:MAX_NAME]


def _budget_owner(user: User, source: Assistant) -> int | None:
    """Who may change the budget a duplicate of `source` copies (None: its new owner)."""
    if source.monthly_budget_micros is None:
        return None  # no cap to escape
    owner = source.budget_owner_id or source.owner_id  # a copy of a copy stays locked
    return None if owner == user.id else owner


def duplicate_assistant(user: User, assistant_id: int) -> Assistant:
    """A private copy, owned by `user`, of any assistant they can see.

    Knowledge files are not copied: they live in the original's vector store. The monthly
    budget is copied, so duplicating a shared assistant never escapes its cap: only the
    original's owner (or an admin) may change a copied budget.
    """
    with session_scope() as session:
        source = load_for_use(session, user, assistant_id)
        copy = Assistant(
            owner_id=user.id,
            name=copy_name(source.name),
            description=source.description,
            instructions=source.instructions,
            model=source.model,
            temperature=source.temperature,
            top_p=source.top_p,
            reasoning_effort=source.reasoning_effort,
            tools=list(source.tools or []),
            shared=False,
            monthly_budget_micros=source.monthly_budget_micros,
            budget_owner_id=_budget_owner(user, source),
        )
        session.add(copy)
        session.flush()
        session.refresh(copy)
        return copy


def delete_assistant(user: User, assistant_id: int) -> None:
    """Delete an assistant (owner or admin), its knowledge files and vector store upstream.

    Conversations are kept and stay readable: their `assistant_id` becomes NULL, and the chat
    shows them as with a deleted assistant (no new messages). Upstream cleanup runs first; if
    the provider fails, nothing is deleted here and the error says to try again.
    """

    with session_scope() as session:
        assistant = load_for_edit(session, user, assistant_id)
        upstream = assistant_upstream(session, assistant)
    purge_upstream(upstream, "assistant", best_effort=False)
    with session_scope() as session:
        session.exec(
            sa.update(Conversation)
            .where(Conversation.assistant_id == assistant_id)
            .values(assistant_id=None)
        )
        session.exec(sa.delete(StoredFile).where(StoredFile.assistant_id == assistant_id))
        session.exec(sa.delete(Assistant).where(Assistant.id == assistant_id))


def list_assistants(
    user: User, query: str = "", sort: str = "recent", session: Session | None = None
) -> list[AssistantSummary]:
    """My assistants and the team's shared ones, filtered by name/description, in one query
    (in the caller's `session` when given, e.g. a page loading everything at once)."""
    if sort not in SORTS:
        raise ValidationError(f"Sort by one of: {', '.join(SORTS)}.", "sort")
    files = (
        select(StoredFile.assistant_id, func.count().label("n"))
        .where(StoredFile.purpose == FilePurpose.knowledge, StoredFile.status != FileStatus.failed)
        .group_by(StoredFile.assistant_id)
        .subquery()
    )
    chats = (
        select(Conversation.assistant_id, func.count().label("n"))
        .where(Conversation.assistant_id.is_not(None))
        .group_by(Conversation.assistant_id)
        .subquery()
    )
    statement = (
        select(
            Assistant,
            User.username,
            func.coalesce(files.c.n, 0),
            func.coalesce(chats.c.n, 0),
        )
        .join(User, User.id == Assistant.owner_id)
        .outerjoin(files, files.c.assistant_id == Assistant.id)
        .outerjoin(chats, chats.c.assistant_id == Assistant.id)
        .where(assistant_visible_to(user))
    )
    text = query.strip()
    if text:
        pattern = contains_pattern(text)
        statement = statement.where(
            sa.or_(
                func.lower(Assistant.name).like(pattern, escape="\\"),
                func.lower(Assistant.description).like(pattern, escape="\\"),
            )
        )
    if sort == "name":
        statement = statement.order_by(func.lower(Assistant.name), Assistant.id)
    else:
        recent = func.coalesce(Assistant.last_used_at, Assistant.updated_at)
        statement = statement.order_by(recent.desc(), Assistant.id.desc())
    catalog = load_catalog(get_settings())
    if session is not None:
        rows = session.exec(statement).all()
    else:
        with session_scope() as own:
            rows = own.exec(statement).all()
    summaries = []
    for assistant, owner_name, file_count, chat_count in rows:
        model = catalog.get(assistant.model)
        summaries.append(
            AssistantSummary(
                id=assistant.id,
                name=assistant.name,
                description=assistant.description,
                model=assistant.model,
                model_label=model.label if model else assistant.model,
                tools=list(assistant.tools or []),
                shared=assistant.shared,
                owner_id=assistant.owner_id,
                owner_name=owner_name,
                knowledge_files=int(file_count),
                conversations=int(chat_count),
                last_used_at=assistant.last_used_at,
                updated_at=assistant.updated_at,
                can_edit=_can_edit(user, assistant),
                is_mine=assistant.owner_id == user.id,
            )
        )
    return summaries
