"""Exact integer costs from usage, catalog prices and tool prices."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import ValidationError
from services.llm.base import Usage
from services.llm.catalog import DEFAULT_CATALOG_PATH, Catalog, load_catalog_file
from services.usage.pricing import (
    cost_micros,
    estimate_tokens,
    estimate_turn_micros,
    format_usd,
    parse_usd,
    tool_calls_usd,
)


@pytest.fixture
def catalog() -> Catalog:
    return load_catalog_file(DEFAULT_CATALOG_PATH)


def usage(
    input_tokens: int = 0, cached: int = 0, output: int = 0, reasoning: int = 0, **tools: int
):
    return Usage(input_tokens, cached, output, reasoning, **tools)


def test_cached_tokens_billed_at_cached_rate(catalog: Catalog) -> None:
    # gpt-4.1: 800 * 2.00 + 200 * 0.50 + 500 * 8.00 micro-dollars
    cost = cost_micros(usage(1000, 200, 500), catalog.get("gpt-4.1"), catalog.tool_prices)
    assert cost == 1600 + 100 + 4000


def test_fractional_micros_round_half_up_once(catalog: Catalog) -> None:
    # gpt-4o-mini: 1001 * 0.15 + 3 * 0.60 = 150.15 + 1.8 = 151.95
    model = catalog.get("gpt-4o-mini")
    assert cost_micros(usage(1001, 0, 3), model, catalog.tool_prices) == 152
    # 1 cached token at 0.075 + 1 at 0.15 = 0.225 -> 0
    assert cost_micros(usage(2, 1, 0), model, catalog.tool_prices) == 0


def test_reasoning_tokens_are_not_counted_twice(catalog: Catalog) -> None:
    cost = cost_micros(usage(0, 0, 100, reasoning=60), catalog.get("gpt-5"), catalog.tool_prices)
    assert cost == 100 * 10


def test_tool_calls_are_priced(catalog: Catalog) -> None:
    calls = usage(web_search_calls=2, file_search_calls=3, code_interpreter_sessions=1)
    assert tool_calls_usd(calls, catalog.tool_prices) == Decimal("0.0575")
    # 2 * $0.01 + 3 * $0.0025 + $0.03, plus 10 input tokens of gpt-4.1-mini (4 micros)
    calls = usage(10, web_search_calls=2, file_search_calls=3, code_interpreter_sessions=1)
    assert cost_micros(calls, catalog.get("gpt-4.1-mini"), catalog.tool_prices) == 57_504


def test_unknown_model_cost_is_none_not_zero(catalog: Catalog) -> None:
    assert cost_micros(usage(10, 0, 10), None, catalog.tool_prices) is None
    assert estimate_turn_micros(None, 10, 10) is None


def test_estimates(catalog: Catalog) -> None:
    assert estimate_turn_micros(catalog.get("o4-mini"), 1000, 1500) == 1100 + 6600
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2


@pytest.mark.parametrize(
    ("micros", "shown"),
    [
        (None, "unknown"),
        (0, "$0.00"),
        (57, "<$0.0001"),
        (4_150, "$0.0042"),
        (10_000, "$0.01"),
        (1_234_567, "$1.23"),
    ],
)
def test_format_usd(micros: int | None, shown: str) -> None:
    assert format_usd(micros) == shown


@pytest.mark.parametrize(
    ("typed", "micros"),
    [
        ("$5", 5_000_000),
        ("5", 5_000_000),
        ("5.00", 5_000_000),
        ("0", 0),
        ("$ 1,250.5", 1_250_500_000),
    ],
)
def test_budget_amounts_people_type(typed: str, micros: int) -> None:
    assert parse_usd(typed) == micros


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("-3", "cannot be negative"),
        ("five", "like 25 or 12.50"),
        ("1.234", "at most 2 decimals"),
        ("nan", "like 25 or 12.50"),
        ("2000000", "between 0 and 1,000,000"),
    ],
)
def test_bad_budget_amounts_say_why(typed: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        parse_usd(typed)


@pytest.mark.parametrize(
    ("size", "detail", "tokens"),
    [((1024, 1024), "high", 765), ((2048, 4096), "high", 1105), ((4096, 8192), "low", 85)],
)
def test_image_tokens_follow_the_providers_tile_formula(size, detail, tokens) -> None:
    from services.usage.pricing import image_tokens

    assert image_tokens(*size, detail) == tokens  # OpenAI's published examples


def test_month_end_forecast_from_the_daily_pace() -> None:
    from datetime import UTC, date, datetime

    from services.usage.spend import forecast

    ten_days_in = datetime(2026, 11, 11, tzinfo=UTC)  # 10 days of a 30-day month
    at_pace = forecast(10_000, 20_000, ten_days_in)
    assert at_pace.month_end_micros == 30_000 and at_pace.cap_day == date(2026, 11, 21)
    assert "reach your cap around 21 Nov" in at_pace.sentence()
    assert forecast(10_000, None, ten_days_in).cap_day is None
    assert forecast(1_000, 20_000, ten_days_in).cap_day is None  # stays under the cap
