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
    """
    if model is None:
        return None
    cached = min(max(usage.cached_tokens, 0), usage.input_tokens)
    total = (
        (usage.input_tokens - cached) * model.input_price
        + cached * model.cached_input_price
        + usage.output_tokens * model.output_price
        + tool_calls_usd(usage, tool_prices) * MICROS_PER_USD
    )
    return _round(total)


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
    """A dollar amount typed by a person as micro-dollars; empty means None (no budget)."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        amount = Decimal(str(text).strip().lstrip("$").replace(",", ""))
    except InvalidOperation as exc:
        raise ValidationError("Enter an amount in dollars, like 25 or 12.50.", field) from exc
    if not amount.is_finite() or amount < 0 or amount > MAX_BUDGET_USD:
        raise ValidationError("Enter an amount between 0 and 1,000,000 dollars.", field)
    return int((amount * MICROS_PER_USD).to_integral_value())
