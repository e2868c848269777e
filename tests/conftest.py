"""Shared fixtures: isolated settings per test, SQLite and real MariaDB databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
from sqlalchemy.engine import make_url

from core import db
from core.config import get_settings
from services.accounts import users as accounts
from services.runtime import liveness

pytest_plugins = ["tests.simulator_fixtures"]

TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
MARIADB_URL = os.environ.get(
    "TEST_MARIADB_URL", "mysql+pymysql://studio_test:studio_test@127.0.0.1:3306/"
)


def _reset_globals() -> None:
    get_settings.cache_clear()
    db.reset_engine()
    accounts.reset_login_limiter()
    liveness.start_accepting()  # an in-process app's shutdown leaves this process draining


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own DATA_DIR, SQLite file, fast bcrypt and a fixed secret."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{data_dir / 'test.db'}")
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("BCRYPT_ROUNDS", "4")
    monkeypatch.setenv("RENDER_WORKER_PRESTART", "false")  # started on first use instead
    # No model-written titles unless a test asks (tests/integration/test_titles.py): they
    # would add a call to every first exchange that request counts and budgets see.
    monkeypatch.setenv("TITLE_MODEL", "")
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ALLOW_REGISTRATION",
        "LLM_API",
        "LLM_FILES",
        "CHAT_MAX_TOKENS_PARAM",
        "LOCAL_DOCUMENT_MAX_CHARS",
    ):
        monkeypatch.delenv(name, raising=False)
    _reset_globals()
    yield data_dir
    _reset_globals()


def _mariadb_admin_connection(url: str) -> pymysql.connections.Connection:
    parsed = make_url(url)
    return pymysql.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 3306,
        user=parsed.username,
        password=parsed.password or "",
        charset="utf8mb4",
        connect_timeout=3,
    )


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A fresh, empty MariaDB database for this test, dropped afterwards."""
    name = f"studio_test_{uuid.uuid4().hex[:10]}"
    try:
        conn = _mariadb_admin_connection(MARIADB_URL)
    except pymysql.err.OperationalError as exc:
        if os.environ.get("REQUIRE_MARIADB"):
            raise
        pytest.skip(f"MariaDB not reachable ({exc}); .ci/run sets it up")
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield make_url(MARIADB_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        db.reset_engine()
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated, empty database: once on SQLite, once on the real MariaDB."""
    if request.param == "mariadb":
        url = request.getfixturevalue("mariadb_url")
        monkeypatch.setenv("DATABASE_URL", url)
    _reset_globals()
    url = get_settings().resolved_database_url
    db.migrate(url)
    return request.param
