"""The model catalog file, its override setting and unknown models."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import orjson

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
