"""Pytest fixtures for the LLM simulator (registered through `pytest_plugins`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.config import Settings
from services.llm.base import LLMProvider
from services.llm.factory import get_provider
from simulator.server import SimulatorServer, start_simulator

TEST_API_KEY = "sk-test-simulator-0123456789"


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
