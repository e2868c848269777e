"""Cost of a turn in integer micro-dollars (1 USD = 1,000,000), computed exactly.

A price per 1M tokens in USD is also the price per token in micro-dollars, so cost is
`tokens * price` summed as Decimal and rounded once, half up, to a whole micro-dollar.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from core.errors import ValidationError
from services.llm.base import Usage
from services.llm.catalog import ModelInfo, ToolPrices

MICROS_PER_USD = 1_000_000
CHARS_PER_TOKEN = 4


def cost_micros(usage: Usage, model: ModelInfo | None, tool_prices: ToolPrices) -> int | None:
    """The cost of one reply, or None when the model is not in the catalog (unknown, not 0).

    Cached input tokens are billed at the cached rate and the rest of the input at the input
    rate; reasoning tokens are already part of output tokens, so they are not added again.
    Web/file search calls are billed per 1K calls, code interpreter per container session.
    Tokens and each tool kind are rounded separately, exactly as the ledger bills them.
    """
    tokens = token_cost_micros(usage.input_tokens, usage.cached_tokens, usage.output_tokens, model)
    if tokens is None:
        return None
    return tokens + sum(
        tool_cost_micros(tool, getattr(usage, name), tool_prices)
        for tool, name in TOOL_USAGE_FIELDS.items()
    )


TOOL_USAGE_FIELDS = {
    "web_search": "web_search_calls",
    "file_search": "file_search_calls",
    "code_interpreter": "code_interpreter_sessions",
}


def token_cost_micros(
    input_tokens: int, cached_tokens: int, output_tokens: int, model: ModelInfo | None
) -> int | None:
    """The token part of a call's cost (None: model not in the catalog)."""
    if model is None:
        return None
    cached = min(max(cached_tokens, 0), input_tokens)
    return _round(
        (input_tokens - cached) * model.input_price
        + cached * model.cached_input_price
        + output_tokens * model.output_price
    )


def tool_cost_micros(tool: str, count: int, tool_prices: ToolPrices) -> int:
    """The fee for `count` calls of one built-in tool (sessions for code interpreter)."""
    per_call = {
        "web_search": tool_prices.web_search_per_1k_calls / 1000,
        "file_search": tool_prices.file_search_per_1k_calls / 1000,
        "code_interpreter": tool_prices.code_interpreter_per_session,
    }[tool]
    return _round(count * per_call * MICROS_PER_USD)


def storage_cost_micros(size_bytes: int, tool_prices: ToolPrices) -> int:
    """One day of vector-store storage (the first GB free is not assumed: billed per GB)."""
    return _round(Decimal(size_bytes) / GB * tool_prices.file_storage_per_gb_day * MICROS_PER_USD)


GB = 1024**3


def tool_calls_usd(usage: Usage, tool_prices: ToolPrices) -> Decimal:
    """The USD price of the built-in tool calls in `usage`."""
    return (
        usage.web_search_calls * tool_prices.web_search_per_1k_calls / 1000
        + usage.file_search_calls * tool_prices.file_search_per_1k_calls / 1000
        + usage.code_interpreter_sessions * tool_prices.code_interpreter_per_session
    )


def estimate_turn_micros(
    model: ModelInfo | None, input_tokens: int, output_tokens: int
) -> int | None:
    """A cost preview for a turn (no cache discount, no tools); None for an unknown model."""
    if model is None:
        return None
    return _round(input_tokens * model.input_price + output_tokens * model.output_price)


def estimate_tokens(text: str) -> int:
    """A cheap local token estimate: one token per 4 characters, rounded up.

    Good to ~20% for English prose; code and non-Latin scripts use more tokens per character.
    """
    return -(-len(text) // CHARS_PER_TOKEN)


def format_usd(micros: int | None) -> str:
    """Show a cost: "$1.23", "$0.0042" below a cent, "<$0.0001", or "unknown" for None."""
    if micros is None:
        return "unknown"
    usd = Decimal(micros) / MICROS_PER_USD
    if micros == 0 or abs(micros) >= 10_000:
        return f"${usd.quantize(Decimal('0.01'), ROUND_HALF_UP)}"
    if abs(micros) < 100:
        return "<$0.0001"
    return f"${usd.quantize(Decimal('0.0001'), ROUND_HALF_UP)}"


def _round(micros: Decimal) -> int:
    return int(micros.quantize(Decimal(1), ROUND_HALF_UP))


MAX_BUDGET_USD = Decimal(1_000_000)


def parse_usd(text: str | float | Decimal | None, field: str = "budget") -> int | None:
    """A dollar amount typed by a person as micro-dollars; empty means None (no budget).

    Accepts "$5", "5", "5.00", "1,000" and "0" (0 blocks spending). Refuses negative
    amounts, garbage and more than 2 decimals, each with a message saying why."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    typed = str(text).strip().replace(",", "")
    try:
        amount = Decimal(typed.removeprefix("$").strip())
    except InvalidOperation as exc:
        raise ValidationError("Enter an amount in dollars, like 25 or 12.50.", field) from exc
    if not amount.is_finite():
        raise ValidationError("Enter an amount in dollars, like 25 or 12.50.", field)
    if amount < 0:
        raise ValidationError(
            "A budget cannot be negative: enter 0 to block spending, or leave it empty.", field
        )
    if amount > MAX_BUDGET_USD:
        raise ValidationError("Enter an amount between 0 and 1,000,000 dollars.", field)
    if isinstance(text, str) and amount != amount.quantize(Decimal("0.01")):
        raise ValidationError("Use at most 2 decimals (whole cents), like 12.50.", field)
    return int((amount * MICROS_PER_USD).to_integral_value())


# Vision input on the tile-priced models (OpenAI's published formula): "low" detail is a flat
# 85 tokens; otherwise the image is fitted into 2048x2048, its short side scaled to 768, and
# billed 170 tokens per 512-pixel tile plus 85.
IMAGE_BASE_TOKENS = 85
IMAGE_TILE_TOKENS = 170


def image_tokens(width: int | None, height: int | None, detail: str = "auto") -> int:
    """Input tokens of one image of this size (unknown size: the largest tile count)."""
    if detail == "low":
        return IMAGE_BASE_TOKENS
    if not width or not height:
        return IMAGE_BASE_TOKENS + IMAGE_TILE_TOKENS * 6  # 768x2048: the most tiles possible
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    tiles = -(-int(w) // 512) * -(-int(h) // 512)
    return IMAGE_BASE_TOKENS + IMAGE_TILE_TOKENS * tiles


# A reply may call a search tool several times; the reservation holds this many calls of each
# enabled search tool and one code-interpreter session (what the preview's "high" end shows).
RESERVED_SEARCH_CALLS = 3


def reserved_tool_micros(tools: list[str] | tuple[str, ...], tool_prices: ToolPrices) -> int:
    """The tool fees a reply with these tools enabled may run up (worst case)."""
    total = 0
    for tool in tools:
        if tool in ("web_search", "file_search"):
            total += tool_cost_micros(tool, RESERVED_SEARCH_CALLS, tool_prices)
        elif tool == "code_interpreter":
            total += tool_cost_micros(tool, 1, tool_prices)
    return total


def worst_case_micros(
    model: ModelInfo | None,
    input_tokens: int,
    max_output_tokens: int,
    tools: list[str] | tuple[str, ...],
    tool_prices: ToolPrices,
) -> int | None:
    """What a call may cost at most: all input uncached, every output token the cap allows,
    and the enabled tools' fees. None: model not in the catalog."""
    tokens = token_cost_micros(input_tokens, 0, max_output_tokens, model)
    if tokens is None:
        return None
    return tokens + reserved_tool_micros(tools, tool_prices)
