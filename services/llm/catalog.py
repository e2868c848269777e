"""The model catalog: which models the admin can pick, what they can do and what they cost.

Prices are USD per 1M tokens (tool prices per 1K calls, per GB-day, per session), written as
strings in the JSON file and loaded as `Decimal` so cost arithmetic stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import orjson

from core.config import Settings

DEFAULT_CATALOG_PATH = Path(__file__).with_name("model_catalog.json")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model; prices in USD per 1M tokens."""

    id: str
    label: str
    context_window: int
    vision: bool
    tools: frozenset[str]
    input_price: Decimal
    cached_input_price: Decimal
    output_price: Decimal
    typical_output_tokens: int


@dataclass(frozen=True, slots=True)
class ToolPrices:
    """Built-in tool prices in USD."""

    web_search_per_1k_calls: Decimal
    file_search_per_1k_calls: Decimal
    file_storage_per_gb_day: Decimal
    code_interpreter_per_session: Decimal


@dataclass(frozen=True, slots=True)
class Catalog:
    """All known models, in file order, plus tool prices. Unknown model ids are allowed."""

    models: list[ModelInfo]
    tool_prices: ToolPrices

    def get(self, model_id: str) -> ModelInfo | None:
        """The model with this id, or None (an admin-entered id: cost unknown)."""
        return next((model for model in self.models if model.id == model_id), None)


def load_catalog(settings: Settings) -> Catalog:
    """The catalog from MODEL_CATALOG_PATH, or the bundled one; cached per path."""
    return load_catalog_file(settings.model_catalog_path or DEFAULT_CATALOG_PATH)


@lru_cache
def load_catalog_file(path: Path) -> Catalog:
    """Parse a catalog JSON file (cached; `load_catalog_file.cache_clear()` to reload)."""
    data = orjson.loads(Path(path).read_bytes())
    tool_prices = ToolPrices(
        **{key: Decimal(str(value)) for key, value in data["tool_prices"].items()}
    )
    return Catalog(models=[_model(entry) for entry in data["models"]], tool_prices=tool_prices)


def _model(entry: dict) -> ModelInfo:
    prices = entry["prices"]
    return ModelInfo(
        id=entry["id"],
        label=entry.get("label") or entry["id"],
        context_window=int(entry["context_window"]),
        vision=bool(entry.get("vision", False)),
        tools=frozenset(entry.get("tools", [])),
        input_price=Decimal(str(prices["input"])),
        cached_input_price=Decimal(str(prices.get("cached_input", prices["input"]))),
        output_price=Decimal(str(prices["output"])),
        typical_output_tokens=int(entry.get("typical_output_tokens", 500)),
    )
