"""Rules every uploaded file passes on the server: a safe name, a size limit, a count limit, a
per-user quota and a type found by looking at the bytes (the browser's limits and the extension
are not trusted). Zip-based documents (.docx, .pptx) are checked for what they would unpack to
before anything is kept or forwarded, so a zip bomb reaches neither our disk nor the provider.
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

# What a zip-based document may unpack to. Real ones: tens to a few thousand parts, XML that
# compresses 5-20x, media that does not compress; a zip bomb is far past each of these.
MAX_ARCHIVE_ENTRIES = 10_000
MAX_UNPACKED_MB = 200
MAX_COMPRESSION_RATIO = 100
# Below this unpacked size the ratio is not checked (tiny parts have odd ratios, and harm).
RATIO_CHECK_FROM_BYTES = 10 * 1024 * 1024
_CENTRAL_DIRECTORY_ENTRY = b"PK\x01\x02"
ZIP_BOMB = "{name} {reason}. It looks like a zip bomb, so it was not uploaded."
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


def format_size(size: int) -> str:
    """A short human size: 812 B, 4.2 KB, 3.1 MB, 1.5 GB (the composer's chips read the same)."""
    if size < 1024:
        return f"{size} B"
    if size < 1024**2:
        return f"{size / 1024:.1f} KB"
    if size < 1024**3:
        return f"{size / 1024**2:.1f} MB"
    return f"{size / 1024**3:.1f} GB"


def check_quota(files: int, used_bytes: int, adding: int, settings: Settings | None = None) -> None:
    """ValidationError when one more file of `adding` bytes would exceed the user's quota.

    `files` and `used_bytes` are what the user already holds: unsent attachments and
    knowledge files (USER_UPLOAD_QUOTA_FILES, USER_UPLOAD_QUOTA_MB).
    """
    settings = settings or get_settings()
    max_files = settings.user_upload_quota_files
    max_bytes = settings.user_upload_quota_mb * 1024 * 1024
    if files + 1 <= max_files and used_bytes + adding <= max_bytes:
        return
    raise ValidationError(
        f"Upload quota reached: your unsent attachments and knowledge files use "
        f"{format_size(used_bytes)} in {files:,} files, of {settings.user_upload_quota_mb:,} MB "
        f"and {max_files:,} files allowed, and this file needs {format_size(adding)} more. "
        "Remove attachments or knowledge files you no longer need, then try again.",
        "file",
    )


def _check_unpacked(archive: zipfile.ZipFile, name: str) -> None:
    """ValidationError when an archive would unpack to too much (sizes from its own headers).

    The declared sizes are what any unzipper produces: Python's refuses an entry whose data
    runs past its declared size (CRC check), so summing them bounds the unpacked bytes.
    """
    entries = archive.infolist()
    if len(entries) > MAX_ARCHIVE_ENTRIES:
        reason = f"has {len(entries):,} parts (at most {MAX_ARCHIVE_ENTRIES:,})"
        raise ValidationError(ZIP_BOMB.format(name=name, reason=reason), "file")
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > MAX_UNPACKED_MB * 1024 * 1024:
        reason = f"would unpack to {format_size(unpacked)} (at most {MAX_UNPACKED_MB} MB)"
        raise ValidationError(ZIP_BOMB.format(name=name, reason=reason), "file")
    packed = max(1, sum(entry.compress_size for entry in entries))
    if unpacked >= RATIO_CHECK_FROM_BYTES and unpacked / packed > MAX_COMPRESSION_RATIO:
        reason = f"is compressed {unpacked // packed:,} to 1 (at most {MAX_COMPRESSION_RATIO} to 1)"
        raise ValidationError(ZIP_BOMB.format(name=name, reason=reason), "file")


def _zip_kind(data: bytes, name: str) -> str | None:
    # Count the central directory before parsing it: ZipFile builds an object per entry.
    if data.count(_CENTRAL_DIRECTORY_ENTRY) > MAX_ARCHIVE_ENTRIES:
        reason = f"has more than {MAX_ARCHIVE_ENTRIES:,} parts"
        raise ValidationError(ZIP_BOMB.format(name=name, reason=reason), "file")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_unpacked(archive, name)
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError):
        return None
    if "word/document.xml" in names:
        return DOCX
    if "ppt/presentation.xml" in names:
        return PPTX
    return "application/zip"


def _binary_kind(data: bytes, name: str) -> str | None:
    """The mime of a binary format we recognise by its magic bytes, else None.

    Raises ValidationError for an archive that would unpack to too much (see `_zip_kind`).
    """
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data, name)
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
    source code. Raises ValidationError with a reason a user understands, also for an archive
    that would unpack to more than MAX_UNPACKED_MB, MAX_ARCHIVE_ENTRIES parts or a ratio over
    MAX_COMPRESSION_RATIO.
    """
    ext = extension(name)
    allowed = ", ".join(f".{e}" for e in DOCUMENT_EXTENSIONS)
    if not data:
        raise ValidationError(f"{name} is empty.", "file")
    kind = _binary_kind(data, name)
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
