"""The JSON API's request and response bodies (pydantic), so /api/docs shows a real schema."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Me(BaseModel):
    """Who the key belongs to, and the key's scope."""

    id: int
    username: str
    role: str
    email: str | None
    key_name: str
    key_scope: str


class AssistantIn(BaseModel):
    """An assistant's settings (create, or replace all of them)."""

    name: str = Field(max_length=100)
    description: str = ""
    instructions: str = ""
    model: str | None = Field(None, description="A catalog model id; the default when empty")
    temperature: float | None = None
    top_p: float | None = None
    tools: list[str] = Field(default_factory=list, description="web_search, file_search, ...")
    shared: bool = False
    monthly_budget_usd: str = Field("", description='e.g. "25" or "" for no budget')
    reasoning_effort: str | None = None


class AssistantOut(BaseModel):
    """An assistant I may use."""

    id: int
    name: str
    description: str
    model: str
    tools: list[str]
    shared: bool
    owner_id: int
    can_edit: bool
    openai_model: str = Field(description="The `model` to name on /v1/chat/completions")


class AssistantDetail(AssistantOut):
    """One assistant with its instructions and sampling settings."""

    instructions: str
    temperature: float | None
    top_p: float | None
    reasoning_effort: str | None
    monthly_budget_usd: str


class ConversationIn(BaseModel):
    """A new, empty conversation with an assistant."""

    assistant_id: int


class ConversationOut(BaseModel):
    """One of my conversations."""

    id: int
    title: str
    assistant: str | None = None
    updated_at: datetime
    snippet_html: str | None = None  # a search hit: escaped text, matches in <mark>


class ConversationInfo(BaseModel):
    """A conversation's totals."""

    id: int
    title: str
    assistant: str | None
    model: str | None
    created_at: str
    updated_at: str
    message_count: int
    input_tokens: int
    output_tokens: int
    cost_micros: int
    cost_usd: float
    summary: str | None


class Citation(BaseModel):
    """A source a reply cited."""

    title: str | None = None
    url: str | None = None
    filename: str | None = None


class MessageOut(BaseModel):
    """One message with its status, tokens and cost."""

    id: int
    role: str
    status: str
    created_at: str
    content: str
    model: str | None
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cost_micros: int | None
    cost_usd: float | None
    attachments: list[str]
    citations: list[Citation]
    error: str | None


class ConversationDetail(BaseModel):
    """A conversation and its messages, oldest first."""

    conversation: ConversationInfo
    messages: list[MessageOut]


class MessageIn(BaseModel):
    """A message to send; the reply streams back as server-sent events."""

    text: str = Field(max_length=32_000)


class BudgetOut(BaseModel):
    """The tightest monthly budget that applies to me (None: unlimited)."""

    used_micros: int
    budget_micros: int | None
    fraction: float | None
    warning: str | None


class UsageOut(BaseModel):
    """This calendar month's (UTC) usage from the ledger, and my budget."""

    month_start: datetime
    replies: int
    input_tokens: int
    output_tokens: int
    cost_micros: int
    cost_usd: str
    budget: BudgetOut
    resets_on: str
