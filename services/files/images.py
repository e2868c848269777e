"""Uploaded images: recognised by content, checked for decompression bombs, re-encoded.

Only PNG, JPEG, WebP and GIF are accepted, decided by the bytes (Pillow's own format sniffing,
restricted to those four decoders), never by the name or the browser's type. The size in pixels
is read from the header and checked *before* any pixel is decoded. The image is then decoded
(first frame only: vision models read one frame), turned upright from its EXIF orientation,
shrunk to at most MAX_SIDE pixels on its longest side and saved again without any metadata
(EXIF, GPS, XMP, ICC, comments), plus a THUMBNAIL_SIDE px WebP thumbnail.
CPU-bound and blocking: call it through `run.io_bound` / `run.cpu_bound`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import ValidationError
from services.files import uploads

MAX_MEGAPIXELS = 40
MAX_PIXELS = MAX_MEGAPIXELS * 1_000_000
MAX_SIDE = 2048
THUMBNAIL_SIDE = 256
# Pillow warns above this and refuses above twice this, process-wide; our own check below
# refuses anything above it before decoding, whatever the warnings filters say.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

# Pillow format -> (mime we serve, format we save, extension).
INPUT_FORMATS = {
    "PNG": ("image/png", "PNG", "png"),
    "JPEG": ("image/jpeg", "JPEG", "jpg"),
    "WEBP": ("image/webp", "WEBP", "webp"),
    "GIF": ("image/png", "PNG", "png"),  # first frame, saved losslessly as PNG
}
THUMBNAIL_MIME = "image/webp"
IMAGE_MIMES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
NOT_AN_IMAGE = "This file is not a supported image (PNG, JPEG, WebP or GIF)."
TOO_MANY_PIXELS = f"Image is too large: at most {MAX_MEGAPIXELS} megapixels."
_SAVE_OPTIONS = {
    "PNG": {"optimize": False, "compress_level": 6},
    "JPEG": {"quality": 85, "optimize": True},
    "WEBP": {"quality": 85, "method": 4},
}


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    """A re-encoded image and its thumbnail, ready to store."""

    data: bytes
    mime: str
    extension: str
    width: int
    height: int
    thumbnail: bytes
    thumbnail_mime: str = THUMBNAIL_MIME


def _upright_pixels(image: Image.Image) -> Image.Image:
    """The first frame, rotated per EXIF, in RGB or RGBA, with no metadata attached."""
    image.seek(0)
    upright = ImageOps.exif_transpose(image)
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    )
    clean = upright.convert("RGBA" if has_alpha else "RGB")
    clean.info = {}
    return clean


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG" and image.mode != "RGB":
        image = image.convert("RGB")
    image.info = {}
    image.save(buffer, format=fmt, **_SAVE_OPTIONS[fmt])
    return buffer.getvalue()


def process_image(data: bytes, name: str = "image") -> ProcessedImage:
    """Validate and re-encode an uploaded image; ValidationError with a friendly reason."""
    uploads.check_size(name, len(data))
    try:
        with Image.open(io.BytesIO(data), formats=list(INPUT_FORMATS)) as source:
            if source.format not in INPUT_FORMATS:
                raise ValidationError(NOT_AN_IMAGE, "file")
            if source.width * source.height > MAX_PIXELS:
                raise ValidationError(TOO_MANY_PIXELS, "file")
            mime, fmt, ext = INPUT_FORMATS[source.format]
            if fmt == "JPEG":
                source.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode big JPEGs at reduced scale
            image = _upright_pixels(source)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationError(TOO_MANY_PIXELS, "file") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ValidationError(NOT_AN_IMAGE, "file") from exc
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    encoded = _encode(image, fmt)
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    return ProcessedImage(
        data=encoded,
        mime=mime,
        extension=ext,
        width=image.width,
        height=image.height,
        thumbnail=_encode(thumb, "WEBP"),
    )
