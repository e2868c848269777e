"""The image keeps secrets and local data out, is reproducible and runs read-only code."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_dockerignore_keeps_secrets_data_and_history_out() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".env", ".git", ".venv"} <= ignored
    assert "data" in ignored or "data/" in ignored


def test_base_image_and_uv_are_pinned() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^FROM (\S+)", dockerfile, re.M).group(1)
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base), base
    assert re.search(r"UV_VERSION=\d+\.\d+\.\d+", dockerfile)
    assert '"uv==${UV_VERSION}"' in dockerfile


def test_app_code_is_not_owned_by_the_runtime_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--chown" not in dockerfile  # code and venv stay root-owned
    assert dockerfile.index("COPY . .") < dockerfile.index("USER studio")
