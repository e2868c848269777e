"""Deterministic replies for the simulator: text, token counts, and pre-rendered SSE events.

Everything here is plain data work with orjson; no pydantic per token.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

MARKER = re.compile(r"\[\[sim:([a-z_]+)=([^\]]*)\]\]")
_TOKEN = re.compile(r"\s*\S{1,8}|\s+")
_FILLER = ("the", "quick", "model", "streams", "tokens", "for", "demos")  # <= 8 chars each
MESSAGE_OVERHEAD_TOKENS = 4
IMAGE_TOKENS = 85
FILE_TOKENS = 250
CACHE_MIN_TOKENS = 1024
CACHE_BLOCK_TOKENS = 128
REASONING_TOKENS = 64  # added for reasoning models (gpt-5*, o*), as OpenAI counts them
# Reasoning models answer with a dated snapshot name, as the real API does.
SNAPSHOTS = {
    "gpt-5": "gpt-5-2025-08-07",
    "gpt-5-mini": "gpt-5-mini-2025-08-07",
    "o3": "o3-2025-04-16",
    "o4-mini": "o4-mini-2025-04-16",
}
REASONING_SUMMARY = (
    "**Reading the question**\n\nThe user wants a clear answer; I will keep it short and "
    "show the formatting the app supports."
)
PREAMBLE = "Let me look into that."
REFUSAL = "I'm sorry, but I can't help with that."


def is_reasoning_model(model: str) -> bool:
    """gpt-5* and the o-series think before they answer."""
    return model.startswith(("gpt-5", "o1", "o3", "o4"))


@dataclass
class Prompt:
    """What the simulator understood of a request."""

    model: str
    instructions: str
    messages: list[tuple[str, str, int, int]]  # role, text, images, files
    tools: set[str] = field(default_factory=set)

    @property
    def last_user_text(self) -> str:
        return next((text for role, text, _, _ in reversed(self.messages) if role == "user"), "")


@dataclass
class Plan:
    """One reply: the text split into deltas, annotations, tool items and usage."""

    text: str
    deltas: list[str]
    annotations: list[dict[str, Any]]
    tool_items: list[dict[str, Any]]
    input_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    model: str = ""
    reasoning_summary: str = ""  # streamed when the request asks for `reasoning.summary`
    preamble: str = ""  # a first message item before the tools (gpt-5 with tools)
    refusal: bool = False
    incomplete: str | None = None  # max_output_tokens or content_filter

    @property
    def output_tokens(self) -> int:
        return len(self.deltas) + self.reasoning_tokens + len(_TOKEN.findall(self.preamble))

    def limit(self, max_output_tokens: int | None) -> None:
        """Honour `max_output_tokens` as the real API does: cut the text, end incomplete."""
        if not max_output_tokens or self.output_tokens <= max_output_tokens:
            return
        self.reasoning_tokens = min(self.reasoning_tokens, max_output_tokens)
        room = max(
            max_output_tokens - self.reasoning_tokens - len(_TOKEN.findall(self.preamble)), 0
        )
        self.deltas = self.deltas[:room]
        self.text = "".join(self.deltas)
        self.annotations = [a for a in self.annotations if _end_of(a) <= len(self.text)]
        self.incomplete = "max_output_tokens"

    def filter_content(self) -> None:
        """The content filter stops the reply half-way."""
        self.deltas = self.deltas[: max(len(self.deltas) // 2, 1)]
        self.text = "".join(self.deltas)
        self.annotations = []
        self.incomplete = "content_filter"


def _end_of(annotation: dict[str, Any]) -> int:
    return int(annotation.get("end_index", annotation.get("index", 0)) or 0)


def markers(text: str) -> dict[str, str]:
    """The `[[sim:key=value]]` markers of a text."""
    return dict(MARKER.findall(text))


def _tokens(text: str) -> int:
    return -(-len(text) // 4)


def count_input(prompt: Prompt) -> tuple[int, int]:
    """(input tokens, cached tokens): ~len/4 per text plus overheads; the context before the
    last message counts as cached in 128-token blocks once it reaches 1,024 tokens."""
    total = _tokens(prompt.instructions) + (MESSAGE_OVERHEAD_TOKENS if prompt.instructions else 0)
    prior = total
    for index, (_, text, images, files) in enumerate(prompt.messages):
        total += (
            MESSAGE_OVERHEAD_TOKENS + _tokens(text) + images * IMAGE_TOKENS + files * FILE_TOKENS
        )
        if index < len(prompt.messages) - 1:
            prior = total
    cached = prior // CACHE_BLOCK_TOKENS * CACHE_BLOCK_TOKENS if prior >= CACHE_MIN_TOKENS else 0
    return total + 3, cached


def cache_write(input_tokens: int, cached: int) -> int:
    """Tokens newly written to the prompt cache: the uncached whole blocks of a long prompt."""
    if input_tokens < CACHE_MIN_TOKENS:
        return 0
    return input_tokens // CACHE_BLOCK_TOKENS * CACHE_BLOCK_TOKENS - cached


# Asked for a conversation title (as an app's titling call does), a model answers in a few
# words: the simulator takes them from the first line of the conversation.
TITLE_REQUEST = re.compile(r"\btitle\b", re.IGNORECASE)


def title_text(conversation: str) -> str:
    """A short title for a conversation: its first words, without a role prefix."""
    first = next((line for line in conversation.splitlines() if line.strip()), "")
    first = re.sub(r"^(user|assistant):\s*", "", first.strip(), flags=re.IGNORECASE)
    first = re.sub(r"^echo:\s*", "", first, flags=re.IGNORECASE)
    title = " ".join(first.split()[:5]).rstrip(".,;:!?")
    return title[:1].upper() + title[1:] if title else "Simulated chat"


def reply_text(user_text: str, tokens: int | None) -> str:
    """The demo answer to the last user message (markers already removed)."""
    if tokens is not None:
        return "".join(
            (" " if i else "") + _FILLER[i % len(_FILLER)] for i in range(max(tokens, 1))
        )
    lower = user_text.lower()
    if "echo:" in lower:
        return user_text[lower.index("echo:") + 5 :].strip() or "(nothing to echo)"
    topic = " ".join(user_text.split())[:80] or "your message"
    parts = [
        f"Here is a simulated answer to “{topic}”.",
        "",
        "This reply comes from the built-in **simulator**, so nothing was billed:",
        "",
        "- it streams one token at a time,",
        "- ask for *code*, a *table* or a *long* answer to see formatting,",
        "- turn on **Web search**, **File search** or **Code interpreter** for the assistant "
        "to see tool progress, cited sources and a generated chart,",
        "- pick **GPT-5 mini** (or another reasoning model) to watch it think first.",
    ]
    if "code" in lower:
        parts += [
            "",
            "```python",
            "def greet(name: str) -> str:",
            '    return f"Hello, {name}!"',
            "",
            'print(greet("world"))',
            "```",
        ]
    if "table" in lower:
        parts += [
            "",
            "| Model | Speed | Cost |",
            "|---|---|---|",
            "| mini | fast | low |",
            "| full | steady | higher |",
        ]
    if "long" in lower:
        paragraph = (
            "A longer answer keeps going so that scrolling, rendering and token counting can "
            "be tried with a realistic amount of text, paragraph after paragraph."
        )
        parts += ["", *[f"{i}. {paragraph}" for i in range(1, 34)]]
    return "\n".join(parts)


def plan_reply(prompt: Prompt, tokens: int | None, vector_file: tuple[str, str] | None) -> Plan:
    """Build the reply, its citations and tool items for a parsed request."""
    text = reply_text(MARKER.sub("", prompt.last_user_text).strip(), tokens)
    if TITLE_REQUEST.search(prompt.instructions) and tokens is None:
        text = title_text(MARKER.sub("", prompt.last_user_text))
    annotations: list[dict[str, Any]] = []
    tool_items: list[dict[str, Any]] = []
    if "file_search" in prompt.tools and vector_file:
        file_id, filename = vector_file
        text += "\n\nYour files cover this topic."
        tool_items.append(
            {
                "id": "fs_sim",
                "type": "file_search_call",
                "status": "completed",
                "queries": [prompt.last_user_text[:60]],
                "results": None,
            }
        )
        annotations.append(
            {"type": "file_citation", "file_id": file_id, "filename": filename, "index": len(text)}
        )
    if "web_search" in prompt.tools:
        link = "[example.com](https://example.com/simulated-source)"
        text += f"\n\nA web source agrees: {link}."
        start = text.index(link)
        tool_items.append(
            {
                "id": "ws_sim",
                "type": "web_search_call",
                "status": "completed",
                "action": {"type": "search", "query": prompt.last_user_text[:60]},
            }
        )
        annotations.append(
            {
                "type": "url_citation",
                "url": "https://example.com/simulated-source",
                "title": "Simulated source",
                "start_index": start,
                "end_index": start + len(link),
            }
        )
    if "code_interpreter" in prompt.tools:
        link = "[chart.png](sandbox:/mnt/data/chart.png)"
        text += f"\n\nI ran some Python and saved a chart: {link}."
        start = text.index(link)
        tool_items.append(
            {
                "id": "ci_sim",
                "type": "code_interpreter_call",
                "status": "completed",
                "container_id": "cntr_sim",
                "code": "plot(data)",
                "outputs": None,
            }
        )
        annotations.append(
            {
                "type": "container_file_citation",
                "container_id": "cntr_sim",
                "file_id": "cfile_sim_chart",
                "filename": "chart.png",
                "start_index": start,
                "end_index": start + len(link),
            }
        )
    input_tokens, cached = count_input(prompt)
    reasoning = is_reasoning_model(prompt.model)
    if reasoning and "web_search" in prompt.tools:
        # Opening a page is not a search: the real API sends such items, unbilled.
        searched = next(i for i, item in enumerate(tool_items) if item["id"] == "ws_sim")
        tool_items.insert(
            searched + 1,
            {
                "id": "ws_open_sim",
                "type": "web_search_call",
                "status": "completed",
                "action": {"type": "open_page", "url": "https://example.com/simulated-source"},
            },
        )
    if reasoning:
        for note in annotations:
            if note["type"] == "container_file_citation":
                # What the real API sends (openai/codex#1451): a cfile_ name and 0 offsets.
                note.update(filename="cfile_sim_chart.png", start_index=0, end_index=0)
    return Plan(
        text,
        _TOKEN.findall(text),
        annotations,
        tool_items,
        input_tokens,
        cached,
        REASONING_TOKENS if reasoning else 0,
        model=SNAPSHOTS.get(prompt.model, prompt.model),
        reasoning_summary=REASONING_SUMMARY if reasoning else "",
        preamble=PREAMBLE if reasoning and tool_items else "",
    )


def refusal_plan(plan: Plan) -> Plan:
    """The same request refused: a refusal content part instead of text, no tools."""
    deltas = _TOKEN.findall(REFUSAL)
    return Plan(
        REFUSAL,
        deltas,
        [],
        [],
        plan.input_tokens,
        plan.cached_tokens,
        plan.reasoning_tokens,
        model=plan.model,
        reasoning_summary=plan.reasoning_summary,
        refusal=True,
    )


def responses_usage(plan: Plan) -> dict[str, Any]:
    """The Responses API usage object."""
    return {
        "input_tokens": plan.input_tokens,
        "input_tokens_details": {
            "cached_tokens": plan.cached_tokens,
            "cache_write_tokens": cache_write(plan.input_tokens, plan.cached_tokens),
        },
        "output_tokens": plan.output_tokens,
        "output_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
        "total_tokens": plan.input_tokens + plan.output_tokens,
    }


def chat_usage(plan: Plan) -> dict[str, Any]:
    """The Chat Completions usage object."""
    return {
        "prompt_tokens": plan.input_tokens,
        "completion_tokens": plan.output_tokens,
        "total_tokens": plan.input_tokens + plan.output_tokens,
        "prompt_tokens_details": {"cached_tokens": plan.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
    }


def _message_item(
    item_id: str, text: str, annotations: list[dict[str, Any]], status: str, refusal: bool = False
) -> dict[str, Any]:
    part: dict[str, Any] = (
        {"type": "refusal", "refusal": text}
        if refusal
        else {"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}
    )
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [part] if status != "in_progress" else [],
    }


def _reasoning_item(item_id: str, summary: str) -> dict[str, Any]:
    parts = [{"type": "summary_text", "text": summary}] if summary else []
    return {"id": item_id, "type": "reasoning", "summary": parts}


def response_object(
    rid: str, body: dict[str, Any], status: str, output: list, usage, plan: Plan | None = None
) -> dict:
    """A Responses API `response` object (model: the snapshot name, as the real API)."""
    incomplete = plan.incomplete if plan is not None and status == "incomplete" else None
    return {
        "id": rid,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": plan.model if plan is not None and plan.model else body.get("model", ""),
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": body.get("tools") or [],
        "instructions": body.get("instructions"),
        "temperature": body.get("temperature"),
        "top_p": body.get("top_p"),
        "max_output_tokens": body.get("max_output_tokens"),
        "store": body.get("store", True),
        "reasoning": body.get("reasoning"),
        "usage": usage,
        "error": None,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "metadata": {},
        "text": {"format": {"type": "text"}},
    }


def _wants_summary(body: dict[str, Any]) -> bool:
    return bool((body.get("reasoning") or {}).get("summary"))


def final_output(rid: str, plan: Plan, body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The complete output list: reasoning, a preamble, tool items, then the answer."""
    items: list[dict[str, Any]] = []
    if plan.reasoning_tokens:
        summary = plan.reasoning_summary if _wants_summary(body or {}) else ""
        items.append(_reasoning_item(f"rs_{rid}", summary))
    if plan.preamble:
        items.append(_message_item(f"msg_pre_{rid}", plan.preamble, [], "completed"))
    items += [{**item, "id": f"{item['id']}_{rid}"} for item in plan.tool_items]
    status = "incomplete" if plan.incomplete else "completed"
    items.append(
        _message_item(f"msg_{rid}", plan.text, plan.annotations, status, refusal=plan.refusal)
    )
    return items


@dataclass
class RenderedStream:
    """SSE bytes: `head` before the first delta, one entry per delta, `tail` after the last.

    `think` marks where a reasoning model goes silent (after its reasoning item opens).
    """

    head: list[bytes]
    deltas: list[bytes]
    tail: list[bytes]
    failure: list[bytes]
    think: int | None = None  # index in `head` after which the model thinks in silence
    nested_failure: list[bytes] = field(default_factory=list)


def _sse(event: dict[str, Any]) -> bytes:
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def render_responses(rid: str, body: dict[str, Any], plan: Plan) -> RenderedStream:
    """All SSE events of a Responses stream, in the order the SDK's stream helper expects."""
    seq = iter(range(10_000_000))
    head: list[bytes] = []
    think: int | None = None

    def emit(target: list[bytes], kind: str, **fields: Any) -> None:
        target.append(_sse({"type": kind, "sequence_number": next(seq), **fields}))

    output = final_output(rid, plan, body)
    emit(
        head, "response.created", response=response_object(rid, body, "in_progress", [], None, plan)
    )
    emit(
        head,
        "response.in_progress",
        response=response_object(rid, body, "in_progress", [], None, plan),
    )
    for index, item in enumerate(output[:-1]):
        if item["type"] == "reasoning":
            emit(
                head, "response.output_item.added", output_index=index, item={**item, "summary": []}
            )
            think = len(head)
            _reasoning_events(emit, head, index, item)
            emit(head, "response.output_item.done", output_index=index, item=item)
        elif item["type"] == "message":
            _whole_message(emit, head, index, item)
        else:
            _tool_events(emit, head, index, item)
    index = len(output) - 1
    message = output[-1]
    part_kind = "refusal" if plan.refusal else "output_text"
    emit(
        head,
        "response.output_item.added",
        output_index=index,
        item=_message_item(message["id"], "", [], "in_progress"),
    )
    part = (
        {"type": "refusal", "refusal": ""}
        if plan.refusal
        else {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    )
    ids = {"output_index": index, "item_id": message["id"], "content_index": 0}
    emit(head, "response.content_part.added", **ids, part=part)
    deltas: list[bytes] = []
    for delta in plan.deltas:
        if plan.refusal:
            emit(deltas, "response.refusal.delta", **ids, delta=delta)
        else:
            emit(deltas, f"response.{part_kind}.delta", **ids, delta=delta, logprobs=[])
    tail: list[bytes] = []
    for number, annotation in enumerate(plan.annotations):
        emit(
            tail,
            "response.output_text.annotation.added",
            **ids,
            annotation_index=number,
            annotation=annotation,
        )
    if plan.refusal:
        emit(tail, "response.refusal.done", **ids, refusal=plan.text)
    else:
        emit(tail, "response.output_text.done", **ids, text=plan.text, logprobs=[])
    emit(tail, "response.content_part.done", **ids, part=message["content"][0])
    emit(tail, "response.output_item.done", output_index=index, item=message)
    status = "incomplete" if plan.incomplete else "completed"
    emit(
        tail,
        f"response.{status}",
        response=response_object(rid, body, status, output, responses_usage(plan), plan),
    )
    error = {"code": "server_error", "message": "The simulator injected a failure mid-stream."}
    failure: list[bytes] = []
    emit(failure, "error", param=None, **error)
    # A failed response still carries what was billed.
    half = _half_usage(plan)
    failed = response_object(rid, body, "failed", [], half, plan)
    emit(failure, "response.failed", response={**failed, "error": error})
    nested: list[bytes] = []
    quota = {
        "type": "insufficient_quota",
        "code": "insufficient_quota",
        "message": "You exceeded your current quota (simulated).",
        "param": None,
    }
    emit(nested, "error", error=quota)
    return RenderedStream(head, deltas, tail, failure, think, nested)


def _half_usage(plan: Plan) -> dict[str, Any]:
    usage = responses_usage(plan)
    produced = plan.reasoning_tokens + len(plan.deltas) // 2
    return {**usage, "output_tokens": produced, "total_tokens": plan.input_tokens + produced}


def _reasoning_events(emit: Any, head: list[bytes], index: int, item: dict[str, Any]) -> None:
    for number, part in enumerate(item["summary"]):
        ids = {"output_index": index, "item_id": item["id"], "summary_index": number}
        emit(head, "response.reasoning_summary_part.added", **ids, part={**part, "text": ""})
        for piece in _TOKEN.findall(part["text"]):
            emit(head, "response.reasoning_summary_text.delta", **ids, delta=piece)
        emit(head, "response.reasoning_summary_text.done", **ids, text=part["text"])
        emit(head, "response.reasoning_summary_part.done", **ids, part=part)


def _whole_message(emit: Any, head: list[bytes], index: int, item: dict[str, Any]) -> None:
    """A short message item streamed at once (gpt-5's preamble before it calls tools)."""
    emit(
        head,
        "response.output_item.added",
        output_index=index,
        item={**item, "status": "in_progress", "content": []},
    )
    part = item["content"][0]
    ids = {"output_index": index, "item_id": item["id"], "content_index": 0}
    emit(head, "response.content_part.added", **ids, part={**part, "text": ""})
    for piece in _TOKEN.findall(part["text"]):
        emit(head, "response.output_text.delta", **ids, delta=piece, logprobs=[])
    emit(head, "response.output_text.done", **ids, text=part["text"], logprobs=[])
    emit(head, "response.content_part.done", **ids, part=part)
    emit(head, "response.output_item.done", output_index=index, item=item)


def _tool_events(emit: Any, head: list[bytes], index: int, item: dict[str, Any]) -> None:
    kind = item["type"].removesuffix("_call")
    emit(
        head,
        "response.output_item.added",
        output_index=index,
        item={**item, "status": "in_progress"},
    )
    for step in ("in_progress", "searching" if "search" in kind else "interpreting", "completed"):
        emit(head, f"response.{kind}_call.{step}", output_index=index, item_id=item["id"])
    emit(head, "response.output_item.done", output_index=index, item=item)


def render_chat(cid: str, body: dict[str, Any], plan: Plan) -> RenderedStream:
    """All SSE chunks of a Chat Completions stream, ending with `data: [DONE]`."""
    created = int(time.time())
    model = body.get("model", "")

    def chunk(choices: list, **extra: Any) -> bytes:
        payload = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
            **extra,
        }
        return b"data: " + orjson.dumps(payload) + b"\n\n"

    def choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]

    head = [chunk(choice({"role": "assistant", "content": ""}))]
    deltas = [chunk(choice({"content": delta})) for delta in plan.deltas]
    tail = [chunk(choice({}, "stop"))]
    if (body.get("stream_options") or {}).get("include_usage"):
        tail.append(chunk([], usage=chat_usage(plan)))
    tail.append(b"data: [DONE]\n\n")
    error = {
        "message": "The simulator injected a failure mid-stream.",
        "type": "server_error",
        "param": None,
        "code": "server_error",
    }
    return RenderedStream(
        head, deltas, tail, [b"data: " + orjson.dumps({"error": error}) + b"\n\n"]
    )


def chat_completion(cid: str, body: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """A non-streaming Chat Completions answer."""
    message = {"role": "assistant", "content": plan.text, "refusal": None}
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "usage": chat_usage(plan),
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
    }
