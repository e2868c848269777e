"""The model catalog file, its override setting and unknown models."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from core.config import Settings
from services.llm.catalog import DEFAULT_CATALOG_PATH, load_catalog


def test_bundled_catalog() -> None:
    catalog = load_catalog(Settings(_env_file=None))  # type: ignore[call-arg]
    assert [model.id for model in catalog.models] == [
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-5",
        "gpt-5-mini",
        "o3",
        "o4-mini",
    ]
    mini = catalog.get("gpt-4o-mini")
    assert mini is not None and mini.vision and "web_search" in mini.tools
    assert (mini.input_price, mini.cached_input_price, mini.output_price) == (
        Decimal("0.15"),
        Decimal("0.075"),
        Decimal("0.60"),
    )
    assert catalog.tool_prices.web_search_per_1k_calls == Decimal("10.00")
    assert catalog.tool_prices.code_interpreter_per_session == Decimal("0.03")
    assert catalog.get("my-fine-tune") is None
    assert load_catalog(Settings(_env_file=None)) is catalog  # type: ignore[call-arg]


def test_catalog_path_setting_overrides(tmp_path: Path) -> None:
    data = orjson.loads(DEFAULT_CATALOG_PATH.read_bytes())
    data["models"] = [
        {**data["models"][0], "id": "local-llama", "prices": {"input": 0, "output": 0}}
    ]
    path = tmp_path / "catalog.json"
    path.write_bytes(orjson.dumps(data))
    catalog = load_catalog(Settings(_env_file=None, model_catalog_path=path))  # type: ignore[call-arg]
    assert [model.id for model in catalog.models] == ["local-llama"]
    model = catalog.get("local-llama")
    assert model is not None and model.cached_input_price == Decimal(0)


def test_snapshots_map_to_their_catalog_alias(caplog: pytest.LogCaptureFixture) -> None:
    """Issue 12 row 9: `response.model` names the snapshot; charts and prices use the alias."""
    catalog = load_catalog(Settings(_env_file=None))  # type: ignore[call-arg]
    assert catalog.alias("gpt-5-mini") == "gpt-5-mini"
    assert catalog.alias("gpt-5-mini-2025-08-07") == "gpt-5-mini"
    assert catalog.alias("gpt-4.1-mini-2025-04-14") == "gpt-4.1-mini"
    assert not caplog.records  # a dated snapshot of a catalog model is no news
    with caplog.at_level(logging.INFO, logger="services.llm.catalog"):
        assert catalog.alias("gpt-5-mini-0807-preview") == "gpt-5-mini"
    assert "gpt-5-mini-0807-preview" in caplog.text  # an unknown snapshot maps by prefix, logged
    assert catalog.alias("gpt-5-nano") == "gpt-5-nano"  # another model, not a snapshot
    assert catalog.resolve("o4-mini-2025-04-16") is catalog.get("o4-mini")


def test_model_traits_from_catalog_and_name() -> None:
    catalog = load_catalog(Settings(_env_file=None))  # type: ignore[call-arg]
    mini = catalog.traits("gpt-5-mini")
    assert mini.reasoning and not mini.temperature and not mini.top_p
    assert mini.reasoning_efforts == ("minimal", "low", "medium", "high")
    assert mini.reasoning_summary and mini.max_output_tokens == 128000
    assert catalog.traits("o3").reasoning_efforts == ("low", "medium", "high")
    classic = catalog.traits("gpt-4.1-mini")
    assert classic.temperature and classic.top_p and not classic.reasoning_efforts
    # Ids the catalog lacks are judged by name, so nothing they refuse is sent.
    assert not catalog.traits("o1-pro").temperature
    assert catalog.traits("my-local-llama").temperature
