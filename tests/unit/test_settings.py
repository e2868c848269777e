"""Settings validation and the generated secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.config import Settings


def test_short_secret_refused_with_clear_message() -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(secret_key="too-short")


def test_sample_secret_refused() -> None:
    with pytest.raises(ValidationError, match="sample value"):
        Settings(secret_key="please-change-this-secret-key-in-production")


def test_generated_secret_is_kept_across_restarts(tmp_path: Path) -> None:
    first = Settings(secret_key="", data_dir=tmp_path).resolved_secret_key()
    second = Settings(secret_key="", data_dir=tmp_path).resolved_secret_key()
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PORT", "9090")
    settings = Settings(data_dir=tmp_path)
    assert settings.port == 9090
    assert settings.resolved_database_url.startswith("sqlite:///")
    assert settings.resolved_database_url.endswith("studio.db")
    assert settings.demo_mode


def test_rounds_out_of_range_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(bcrypt_rounds=2)


def test_generated_secret_is_read_once(tmp_path: Path) -> None:
    settings = Settings(secret_key="", data_dir=tmp_path)
    first = settings.resolved_secret_key()
    (tmp_path / "secret_key").write_text("x" * 64)  # a later change on disk is not re-read
    assert settings.resolved_secret_key() == first


@pytest.mark.parametrize(
    "overrides",
    [
        {"database_url": "mysql+pymysql://u:p@db/studio"},
        {"nicegui_redis_url": "redis://127.0.0.1:6379/0"},
    ],
)
def test_shared_deployments_need_an_explicit_secret(tmp_path: Path, overrides: dict) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY must be set"):
        Settings(secret_key="", data_dir=tmp_path, **overrides)
    Settings(secret_key="s" * 40, data_dir=tmp_path, **overrides)
