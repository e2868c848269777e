"""Rules every uploaded file passes on the server: a safe name, a size limit, a count limit and
a type found by looking at the bytes (the browser's limits and the extension are not trusted).
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from pathlib import PurePosixPath

import orjson

from core.config import Settings, get_settings
from core.errors import ValidationError

MAX_NAME_LENGTH = 200
FALLBACK_NAME = "file"
# Characters that are legal in names but break shells, URLs or Windows paths: shown as "_".
_RESERVED = re.compile(r'[<>:"|?*\\/]')
_SPACES = re.compile(r"\s+")

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
# Text documents by extension (the content must still be text); the mime the provider expects.
TEXT_TYPES = {
    "txt": "text/plain",
    "md": "text/markdown",
    "markdown": "text/markdown",
    "html": "text/html",
    "htm": "text/html",
    "csv": "text/csv",
    "json": "application/json",
    "c": "text/x-c",
    "h": "text/x-c",
    "cpp": "text/x-c++",
    "hpp": "text/x-c++",
    "cs": "text/x-csharp",
    "css": "text/css",
    "go": "text/x-golang",
    "java": "text/x-java",
    "js": "text/javascript",
    "ts": "application/typescript",
    "php": "text/x-php",
    "py": "text/x-python",
    "rb": "text/x-ruby",
    "sh": "application/x-sh",
    "tex": "text/x-tex",
}
BINARY_TYPES = {"pdf": PDF, "docx": DOCX, "pptx": PPTX}
DOCUMENT_EXTENSIONS = tuple(sorted({*TEXT_TYPES, *BINARY_TYPES}))
_KIND_NAMES = {PDF: "a PDF", DOCX: "a Word document", PPTX: "a PowerPoint presentation"}
_BINARY_EXTENSION = {mime: ext for ext, mime in BINARY_TYPES.items()}


def sanitize_filename(name: str) -> str:
    """A readable, safe file name: no folders, control, format (bidi, zero-width) or NUL chars.

    Letters of every script, spaces and the extension are kept; reserved punctuation becomes
    "_"; the result is at most MAX_NAME_LENGTH characters and never empty or hidden.
    """
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = _RESERVED.sub("_", text)
    text = _SPACES.sub(" ", text).strip(" .")
    if not text:
        return FALLBACK_NAME
    if len(text) > MAX_NAME_LENGTH:
        suffix = PurePosixPath(text).suffix[:16]
        text = text[: MAX_NAME_LENGTH - len(suffix)].rstrip(" .") + suffix
    return text


def extension(name: str) -> str:
    """The lower-case extension without the dot ("" when there is none)."""
    return PurePosixPath(name).suffix.lower().lstrip(".")


def max_file_bytes(settings: Settings | None = None) -> int:
    """The per-file size limit in bytes (MAX_FILE_MB)."""
    return (settings or get_settings()).max_file_mb * 1024 * 1024


def check_size(name: str, size: int, settings: Settings | None = None) -> None:
    """ValidationError when a file is empty or larger than MAX_FILE_MB."""
    settings = settings or get_settings()
    if size <= 0:
        raise ValidationError(f"{name} is empty.", "file")
    if size > max_file_bytes(settings):
        raise ValidationError(
            f"{name} is larger than the {settings.max_file_mb} MB limit per file.", "file"
        )


def check_count(existing: int, settings: Settings | None = None) -> None:
    """ValidationError when an assistant already has MAX_FILES_PER_ASSISTANT files."""
    limit = (settings or get_settings()).max_files_per_assistant
    if existing >= limit:
        raise ValidationError(
            f"An assistant can have at most {limit} knowledge files. Remove one first.", "file"
        )


def _zip_kind(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError):
        return None
    if "word/document.xml" in names:
        return DOCX
    if "ppt/presentation.xml" in names:
        return PPTX
    return "application/zip"


def _binary_kind(data: bytes) -> str | None:
    """The mime of a binary format we recognise by its magic bytes, else None."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    return None


def decode_text(data: bytes) -> str | None:
    """The text of UTF-8/UTF-16 (BOM) data, or of a legacy 8-bit text file; None if binary."""
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                return None
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    sample = text[:8192]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f")
    return None if controls > len(sample) // 100 else text


def sniff_document(data: bytes, name: str) -> str:
    """The mime type of a document we accept, decided by its content (and its extension).

    Accepts PDF, Word (.docx), PowerPoint (.pptx) and text: txt, md, html, csv, json and common
    source code. Raises ValidationError with a reason a user understands.
    """
    ext = extension(name)
    allowed = ", ".join(f".{e}" for e in DOCUMENT_EXTENSIONS)
    if not data:
        raise ValidationError(f"{name} is empty.", "file")
    kind = _binary_kind(data)
    if kind in _KIND_NAMES:
        if BINARY_TYPES.get(ext) == kind:
            return kind
        raise ValidationError(
            f"{name} is {_KIND_NAMES[kind]}; rename it to end in .{_BINARY_EXTENSION[kind]}.",
            "file",
        )
    if ext in BINARY_TYPES:
        raise ValidationError(f"{name} is not a valid .{ext} file.", "file")
    if ext not in TEXT_TYPES:
        raise ValidationError(f"{name}: this file type is not supported. Use {allowed}.", "file")
    if kind is not None:
        raise ValidationError(f"{name} is an archive, not a text file.", "file")
    text = decode_text(data)
    if text is None:
        raise ValidationError(f"{name} is not a text file (it contains binary data).", "file")
    if ext == "json":
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ValidationError(f"{name} is not valid JSON.", "file") from exc
    return TEXT_TYPES[ext]
