"""Pytest fixtures for the LLM simulator (registered through `pytest_plugins`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from core.config import Settings, get_settings
from services.llm.base import LLMProvider
from services.llm.catalog import DEFAULT_CATALOG_PATH, load_catalog_file
from services.llm.factory import get_provider
from simulator.server import SimulatorServer, start_simulator

TEST_API_KEY = "sk-test-simulator-0123456789"
TEXT_ONLY = "text-only-1"  # the catalog model without vision that `text_only_catalog` adds


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorServer]:
    """One simulator for the whole test session, on a free port of 127.0.0.1."""
    server = start_simulator()
    yield server
    server.stop()


@pytest.fixture
def sim(simulator: SimulatorServer) -> SimulatorServer:
    """The session simulator with its recorded requests and configuration reset."""
    simulator.reset()
    return simulator


@pytest.fixture
def llm_env(sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> SimulatorServer:
    """The app's own settings point at the simulator, as with a real OPENAI_BASE_URL."""
    monkeypatch.setenv("OPENAI_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", sim.base_url)
    monkeypatch.setenv("LLM_READ_TIMEOUT_SECONDS", "5")
    get_settings.cache_clear()
    return sim


@pytest.fixture
def text_only_catalog(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The default model catalog plus `TEXT_ONLY`, a model that sees no images."""
    catalog = orjson.loads(DEFAULT_CATALOG_PATH.read_bytes())
    catalog["models"].append(
        dict(catalog["models"][1], id=TEXT_ONLY, label="Text only", vision=False)
    )
    path = tmp_path / "catalog.json"
    path.write_bytes(orjson.dumps(catalog))
    monkeypatch.setenv("MODEL_CATALOG_PATH", str(path))
    get_settings.cache_clear()
    load_catalog_file.cache_clear()
    return TEXT_ONLY


def llm_settings(base_url: str, **overrides: object) -> Settings:
    """Settings pointing the real SDK at `base_url`, with short timeouts for tests."""
    values: dict[str, object] = {
        "openai_api_key": TEST_API_KEY,
        "openai_base_url": base_url,
        "llm_read_timeout_seconds": 5.0,
        "llm_max_retries": 2,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def llm_provider(sim: SimulatorServer) -> LLMProvider:
    """The Responses provider on a real AsyncOpenAI client talking to the simulator."""
    return get_provider(llm_settings(sim.base_url))


@pytest.fixture
def long_replies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replies may run to ~8,000 tokens (crafted echoes) without meeting the output cap."""
    monkeypatch.setenv("MAX_OUTPUT_TOKENS", "32768")
    get_settings.cache_clear()
