"""The per-message cost badge and the conversation's running total."""

from __future__ import annotations

from nicegui import ui

from models import ConversationMessage
from services.usage.pricing import format_usd


def cost_breakdown(message: ConversationMessage) -> list[str]:
    """The lines of a reply's cost tooltip."""
    calls = message.tool_calls or {}
    model = message.model or "unknown"
    if calls.get("model_snapshot"):
        model += f" (answered as {calls['model_snapshot']})"
    cache = f"{message.cached_tokens:,} cached"
    if message.cache_write_tokens:
        cache += f", {message.cache_write_tokens:,} written to cache"
    lines = [
        f"Model: {model}",
        f"Input tokens: {message.input_tokens:,} ({cache})",
        f"Output tokens: {message.output_tokens:,} ({message.reasoning_tokens:,} reasoning)",
    ]
    for key, label in (("web_search", "Web searches"), ("file_search", "File searches")):
        if calls.get(key):
            lines.append(f"{label}: {calls[key]}")
    if calls.get("code_interpreter"):
        lines.append(f"Code sessions: {calls['code_interpreter']}")
    for item in calls.get("carried", []):
        carried_tokens = item["input_tokens"] + item["output_tokens"]
        lines.append(
            f"Includes {item['kind']}: {carried_tokens:,} tokens, {format_usd(item['cost_micros'])}"
        )
    if calls.get("estimated"):
        lines.append("Estimated: the reply did not finish, so the provider sent no usage.")
    if calls.get("thinking_seconds"):
        lines.append(f"Thinking: {calls['thinking_seconds']:g} s (in the output tokens)")
    lines.append(f"Cost: {format_usd(message.cost_micros)}")
    return lines


def cost_badge(message: ConversationMessage) -> ui.label:
    """Tokens and cost of one reply; hover (or focus) for the breakdown."""
    tokens = message.input_tokens + message.output_tokens
    prefix = "~" if (message.tool_calls or {}).get("estimated") else ""
    badge = ui.label(f"{tokens:,} tokens · {prefix}{format_usd(message.cost_micros)}").classes(
        "text-xs px-2 py-0.5 rounded-full bg-slate-100 text-slate-600 "
        "dark:bg-slate-700 dark:text-slate-200 cursor-help"
    )
    badge.props('tabindex=0 aria-label="Cost of this reply"')
    with badge, ui.tooltip().classes("text-sm"):  # one label: two elements per reply, not six
        ui.label("\n".join(cost_breakdown(message))).classes("whitespace-pre-line")
    return badge
