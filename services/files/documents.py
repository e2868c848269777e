"""Documents read here, for providers without a Files API (LLM_FILES=none).

A chat attachment that cannot go to the provider's Files API is read on our side (text,
Markdown, CSV, JSON, source code, and PDF through pypdf) and sent as text inside the user's
message. Each document may hold at most LOCAL_DOCUMENT_MAX_CHARS characters of text: it is sent
again with every turn that has it in context, so a larger one is refused at upload with the
figures, rather than cut silently.
"""

from __future__ import annotations

import io
import logging
from functools import lru_cache
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from core.config import Settings, get_settings
from core.errors import ValidationError
from services.files import uploads

log = logging.getLogger(__name__)

READABLE = "text, Markdown, CSV, JSON, code or PDF"
_TEXT_MIMES = frozenset(uploads.TEXT_TYPES.values())


def is_readable(mime: str) -> bool:
    """Whether a document of this type can be read here."""
    return mime == uploads.PDF or mime in _TEXT_MIMES


def extract_text(name: str, data: bytes, mime: str) -> str:
    """The text of a document (pages of a PDF separated by blank lines).

    Raises ValidationError for a type we cannot read here (Word, PowerPoint), a damaged or
    encrypted PDF, and a document with no text in it (a scanned PDF).
    """
    if mime == uploads.PDF:
        text = _pdf_text(name, data)
    elif mime in _TEXT_MIMES:
        text = uploads.decode_text(data) or ""
    else:
        raise ValidationError(
            f"{name} cannot be read with this provider, which has no Files API. "
            f"Attach {READABLE}, or save it as PDF.",
            "file",
        )
    if not text.strip():
        raise ValidationError(
            f"{name} has no text to read (a scanned PDF holds only images).", "file"
        )
    return text


def _pdf_text(name: str, data: bytes) -> str:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ValidationError(f"{name} is password-protected; attach an unlocked copy.", "file")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:  # damaged files raise these
        log.info("Could not read PDF %s: %s", name, exc)
        raise ValidationError(f"{name} could not be read as a PDF.", "file") from exc
    return "\n\n".join(page.strip() for page in pages if page.strip())


def check_length(name: str, text: str, settings: Settings | None = None) -> None:
    """ValidationError when a document's text is over LOCAL_DOCUMENT_MAX_CHARS."""
    limit = (settings or get_settings()).local_document_max_chars
    if len(text) > limit:
        raise ValidationError(
            f"{name} has {len(text):,} characters of text; this provider reads documents here, "
            f"up to {limit:,} characters each. Attach a shorter part of it.",
            "file",
        )


def read_checked(name: str, data: bytes, mime: str, settings: Settings | None = None) -> str:
    """The text of an attachment about to be kept, after every check above."""
    text = extract_text(name, data, mime)
    check_length(name, text, settings)
    return text


@lru_cache(maxsize=64)
def stored_text(path: Path, size: int, name: str, mime: str) -> str:
    """The text of a stored document (cached: a PDF is parsed once, not on every turn).

    `size` is part of the cache key so a replaced file is read again. Text over the limit
    (which was lowered since the upload) is cut at it.
    """
    text = extract_text(name, path.read_bytes(), mime)
    return text[: get_settings().local_document_max_chars]


def context_block(name: str, text: str) -> str:
    """A document as it appears in the message text sent to the model."""
    safe_name = name.replace('"', "'")
    return f'<document name="{safe_name}">\n{text}\n</document>'
