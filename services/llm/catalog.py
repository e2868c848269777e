"""The model catalog: which models the admin can pick, what they can do and what they cost.

Prices are USD per 1M tokens (tool prices per 1K calls, per GB-day, per session), written as
strings in the JSON file and loaded as `Decimal` so cost arithmetic stays exact.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import orjson

from core.config import Settings

DEFAULT_CATALOG_PATH = Path(__file__).with_name("model_catalog.json")
# Model ids the catalog lacks are judged by name: gpt-5* and the o-series reason and refuse
# `temperature`/`top_p` with HTTP 400 (the OpenAPI spec does not say so).
_REASONING_NAME = re.compile(r"^(gpt-5|o\d)")
# A dated snapshot of a catalog model, as `response.model` names it: gpt-5-mini-2025-08-07.
_SNAPSHOT_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelTraits:
    """What a model accepts: sampling parameters, reasoning options and its output limit."""

    reasoning: bool = False
    temperature: bool = True
    top_p: bool = True
    max_output_tokens: int | None = None
    reasoning_efforts: tuple[str, ...] = ()
    reasoning_summary: bool = False

    @classmethod
    def guess(cls, model_id: str) -> ModelTraits:
        """Traits of a model the catalog lacks, from its name (sends nothing it may refuse)."""
        if _REASONING_NAME.match(model_id):
            return cls(reasoning=True, temperature=False, top_p=False)
        return cls()


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
    traits: ModelTraits = ModelTraits()


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

    def alias(self, model_id: str) -> str:
        """The catalog id a provider's model name stands for.

        `response.model` names the snapshot (gpt-5-mini-2025-08-07): a dated snapshot of a
        catalog model maps to it; another name that extends a catalog id with a digit
        (gpt-5-mini-0807) maps to the longest such id, with a log line. Anything else is
        returned as it is (unknown: its cost stays unknown).
        """
        if self.get(model_id) is not None:
            return model_id
        base = _SNAPSHOT_SUFFIX.sub("", model_id)
        if base != model_id and self.get(base) is not None:
            return base
        prefixes = [
            m.id
            for m in self.models
            if model_id.startswith(m.id + "-") and model_id[len(m.id) + 1 : len(m.id) + 2].isdigit()
        ]
        if not prefixes:
            return model_id
        alias = max(prefixes, key=len)
        log.info("Model %r is not in the catalog; counted as its prefix %r", model_id, alias)
        return alias

    def resolve(self, model_id: str) -> ModelInfo | None:
        """The catalog entry for a model id or one of its snapshots (see `alias`)."""
        return self.get(self.alias(model_id))

    def traits(self, model_id: str) -> ModelTraits:
        """What the model accepts: from the catalog, else guessed from its name."""
        info = self.resolve(model_id)
        return info.traits if info is not None else ModelTraits.guess(model_id)


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
        traits=_traits(entry),
    )


def _traits(entry: dict) -> ModelTraits:
    guessed = ModelTraits.guess(entry["id"])
    limit = entry.get("max_output_tokens")
    return ModelTraits(
        reasoning=bool(entry.get("reasoning", guessed.reasoning)),
        temperature=bool(entry.get("temperature", guessed.temperature)),
        top_p=bool(entry.get("top_p", guessed.top_p)),
        max_output_tokens=int(limit) if limit else None,
        reasoning_efforts=tuple(entry.get("reasoning_efforts", ())),
        reasoning_summary=bool(entry.get("reasoning_summary", False)),
    )
