"""Zip-based documents are checked for what they unpack to; the upload quota's message."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from core.config import get_settings
from core.errors import ValidationError
from services.files import uploads


def docx(parts: dict[str, bytes]) -> bytes:
    """A Word document (by its parts) with the given extra parts, deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("word/document.xml", b"<w:document>Hello</w:document>")
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_real_document_passes() -> None:
    data = docx({"word/media/image1.png": os.urandom(200_000)})
    assert uploads.sniff_document(data, "report.docx") == uploads.DOCX


def test_a_document_that_unpacks_too_large_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uploads, "MAX_UNPACKED_MB", 1)
    data = docx({"word/media/big.bin": os.urandom(1_200_000)})  # incompressible: ratio ~1
    with pytest.raises(ValidationError) as refused:
        uploads.sniff_document(data, "big.docx")
    assert str(refused.value) == (
        "big.docx would unpack to 1.1 MB (at most 1 MB). "
        "It looks like a zip bomb, so it was not uploaded."
    )


def test_a_zip_bomb_is_refused_by_its_compression_ratio() -> None:
    data = docx({"word/bomb.xml": b"\0" * (12 * 1024 * 1024)})
    assert len(data) < 100_000
    with pytest.raises(ValidationError, match=r"^bomb.pptx is compressed [\d,]+ to 1 \(at most"):
        uploads.sniff_document(data, "bomb.pptx")


def test_a_document_with_too_many_parts_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uploads, "MAX_ARCHIVE_ENTRIES", 50)
    data = docx({f"word/part{n}.xml": b"<p/>" for n in range(60)})
    with pytest.raises(ValidationError, match="has more than 50 parts. It looks like a zip bomb"):
        uploads.sniff_document(data, "parts.docx")


def test_an_archive_renamed_to_text_is_checked_too() -> None:
    data = docx({"word/bomb.xml": b"\0" * (12 * 1024 * 1024)})
    with pytest.raises(ValidationError, match="zip bomb"):
        uploads.sniff_document(data, "notes.txt")


def test_the_quota_message_says_what_is_used_and_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER_UPLOAD_QUOTA_MB", "10")
    monkeypatch.setenv("USER_UPLOAD_QUOTA_FILES", "3")
    get_settings.cache_clear()
    uploads.check_quota(2, 9 * 1024 * 1024, 1024 * 1024)  # exactly fits
    with pytest.raises(ValidationError) as refused:
        uploads.check_quota(2, 9 * 1024 * 1024, 1024 * 1024 + 1)
    assert str(refused.value) == (
        "Upload quota reached: your unsent attachments and knowledge files use 9.0 MB in 2 "
        "files, of 10 MB and 3 files allowed, and this file needs 1.0 MB more. Remove "
        "attachments or knowledge files you no longer need, then try again."
    )
    with pytest.raises(ValidationError, match="use 12 B in 3 files"):
        uploads.check_quota(3, 12, 1)
