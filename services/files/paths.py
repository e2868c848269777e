"""Where stored files live on disk: `DATA_DIR/files/<first two hex of id>/<id>[.thumb]`.

Kept apart from `file_store` (rows and access rules) so deletion code anywhere can remove bytes
without importing the access rules.
"""

from __future__ import annotations

import os
import secrets
from contextlib import suppress
from pathlib import Path

from core.config import get_settings
from models import StoredFile

FILES_DIR = "files"
THUMBNAIL_SUFFIX = ".thumb"


def files_root() -> Path:
    """The folder that holds every stored file."""
    return get_settings().data_dir / FILES_DIR


def relative_path(file_id: str, thumbnail: bool = False) -> str:
    """Where a file's bytes (or thumbnail) go, relative to DATA_DIR."""
    return f"{FILES_DIR}/{file_id[:2]}/{file_id}{THUMBNAIL_SUFFIX if thumbnail else ''}"


def write_atomically(relative: str, data: bytes) -> None:
    """Write bytes under DATA_DIR through a temporary file and an atomic rename."""
    path = get_settings().data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def remove_relative(relative: str | None) -> None:
    """Delete a file under DATA_DIR if it is there."""
    if relative:
        with suppress(FileNotFoundError):
            (get_settings().data_dir / relative).unlink()


def stored_path(row: StoredFile, thumbnail: bool = False) -> Path | None:
    """The file's bytes (or thumbnail) on disk; None when absent or outside the files folder."""
    relative = row.thumbnail_path if thumbnail else row.storage_path
    if not relative:
        return None
    root = files_root().resolve()
    path = (get_settings().data_dir / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def discard_bytes(rows: list[StoredFile]) -> None:
    """Remove the bytes and thumbnails of rows that were (or are being) deleted."""
    for row in rows:
        remove_relative(row.storage_path)
        remove_relative(row.thumbnail_path)
