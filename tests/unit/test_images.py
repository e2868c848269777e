"""Image uploads: content sniffing, decompression bombs, re-encoding, metadata, thumbnails."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from core.config import get_settings
from core.errors import ValidationError
from services.files.images import (
    MAX_MEGAPIXELS,
    MAX_SIDE,
    NOT_AN_IMAGE,
    THUMBNAIL_SIDE,
    TOO_MANY_PIXELS,
    process_image,
)

ARTIST_TAG, ORIENTATION_TAG, GPS_IFD = 0x013B, 0x0112, 0x8825


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def gradient(width: int, height: int, mode: str = "RGB") -> Image.Image:
    image = Image.linear_gradient("L").resize((width, height)).convert(mode)
    return image


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, valid-looking PNG whose header claims `width` x `height` pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def reopen(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_large_png_is_capped_and_thumbnailed() -> None:
    result = process_image(encode(gradient(4000, 3000), "PNG"), "big.png")
    assert (result.width, result.height) == (MAX_SIDE, 1536)
    assert result.mime == "image/png" and result.extension == "png"
    out = reopen(result.data)
    assert out.format == "PNG" and out.size == (MAX_SIDE, 1536)
    thumb = reopen(result.thumbnail)
    assert thumb.format == "WEBP" and result.thumbnail_mime == "image/webp"
    assert thumb.size == (THUMBNAIL_SIDE, 192)


def test_small_image_keeps_its_size() -> None:
    result = process_image(encode(gradient(120, 80), "PNG"))
    assert (result.width, result.height) == (120, 80)
    assert reopen(result.thumbnail).size == (120, 80)


def test_exif_and_gps_are_stripped() -> None:
    exif = Image.Exif()
    exif[ARTIST_TAG] = "Secret Person"
    exif.get_ifd(GPS_IFD)[2] = (48.0, 51.0, 24.0)  # GPSLatitude
    data = encode(gradient(300, 200), "JPEG", exif=exif.tobytes(), comment=b"secret comment")
    assert reopen(data).getexif()[ARTIST_TAG] == "Secret Person"  # the tag really was written
    result = process_image(data, "photo.jpg")
    out = reopen(result.data)
    assert out.format == "JPEG" and result.mime == "image/jpeg"
    assert dict(out.getexif()) == {}
    assert b"Secret Person" not in result.data and b"secret comment" not in result.data
    assert b"Exif" not in result.data and b"Exif" not in result.thumbnail
    assert "comment" not in out.info


def test_png_text_chunks_and_icc_profile_are_stripped() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret text chunk")
    data = encode(gradient(64, 64), "PNG", pnginfo=info, icc_profile=b"fake-icc-profile")
    result = process_image(data)
    assert b"secret text chunk" not in result.data
    assert "icc_profile" not in reopen(result.data).info


def test_exif_orientation_is_applied_before_stripping() -> None:
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = 6  # rotate 90° clockwise to view
    data = encode(gradient(200, 100), "JPEG", exif=exif.tobytes())
    result = process_image(data, "sideways.jpg")
    assert (result.width, result.height) == (100, 200)
    assert ORIENTATION_TAG not in reopen(result.data).getexif()


def test_animated_gif_is_accepted_as_its_first_frame() -> None:
    frames = [Image.new("P", (40, 30), color) for color in (1, 2, 3)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    result = process_image(data, "anim.gif")
    assert result.mime == "image/png" and (result.width, result.height) == (40, 30)
    assert reopen(result.data).format == "PNG"


def test_webp_is_accepted_and_stays_webp() -> None:
    result = process_image(encode(gradient(50, 60), "WEBP"), "pic.webp")
    assert result.mime == "image/webp" and reopen(result.data).format == "WEBP"


def test_transparency_is_kept() -> None:
    image = Image.new("RGBA", (20, 20), (255, 0, 0, 0))
    out = reopen(process_image(encode(image, "PNG")).data)
    assert out.mode == "RGBA" and out.getpixel((5, 5))[3] == 0


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    data = png_claiming(50_000, 50_000)
    assert len(data) < 200
    with pytest.raises(ValidationError) as caught:
        process_image(data, "bomb.png")
    assert (
        str(caught.value)
        == TOO_MANY_PIXELS
        == (f"Image is too large: at most {MAX_MEGAPIXELS} megapixels.")
    )


def test_just_over_the_pixel_limit_is_refused() -> None:
    # Between the limit and twice the limit Pillow only warns; our own check refuses it.
    with (
        pytest.warns(Image.DecompressionBombWarning),
        pytest.raises(ValidationError, match="too large"),
    ):
        process_image(png_claiming(8_000, 6_000), "big.png")


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"just some text, not an image", "notes.png"),
        (b"<html><script>alert(1)</script></html>", "page.png"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "vector.svg"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "doc.jpg"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "truncated.png"),
    ],
)
def test_non_images_are_refused_whatever_their_name(data: bytes, name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        process_image(data, name)
    assert str(caught.value) == NOT_AN_IMAGE


def test_other_real_image_formats_are_refused() -> None:
    with pytest.raises(ValidationError, match="not a supported image"):
        process_image(encode(gradient(10, 10), "BMP"), "picture.png")


def test_truncated_jpeg_is_refused() -> None:
    data = encode(gradient(400, 300), "JPEG")
    with pytest.raises(ValidationError, match="not a supported image"):
        process_image(data[: len(data) // 3], "cut.jpg")


def test_oversize_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_FILE_MB", "1")
    get_settings.cache_clear()
    with pytest.raises(ValidationError, match="larger than the 1 MB limit"):
        process_image(b"\x89PNG" + b"\x00" * (1024 * 1024 + 1), "huge.png")
    with pytest.raises(ValidationError, match="empty"):
        process_image(b"", "empty.png")
