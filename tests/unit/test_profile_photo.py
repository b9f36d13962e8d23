"""The profile photo's checks and processing (booking.workspace.profile.process_photo), and the public slug's
rules: what a builder uploads is refused with a reason, or stored square, upright, re-encoded and without
EXIF (so no GPS position leaks from a phone photo)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from booking.workspace.profile import (
    MAX_PHOTO_BYTES,
    PHOTO_SIZE,
    InvalidPhoto,
    InvalidProfile,
    check_slug,
    process_photo,
)

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def halves(width: int = 200, height: int = 100) -> Image.Image:
    """Left half red, right half blue."""
    image = Image.new("RGB", (width, height), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, width // 2, height))
    return image


def with_gps_and_orientation(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (51.0, 30.0, 26.0), 3: "W", 4: (0.0, 7.0, 39.0)}
    return exif


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def is_red(pixel) -> bool:
    r, g, b = pixel[:3]
    return r > 200 and g < 60 and b < 60


def is_blue(pixel) -> bool:
    r, g, b = pixel[:3]
    return b > 200 and r < 60 and g < 60


def test_the_input_really_carries_gps():  # the fixture itself: otherwise the next test proves nothing
    data = encoded(halves(), "JPEG", exif=with_gps_and_orientation())
    assert opened(data).getexif().get_ifd(GPS_IFD)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_and_gps_are_stripped(fmt):
    data = encoded(halves(), fmt, exif=with_gps_and_orientation())
    photo = process_photo(data)
    result = opened(photo.content)
    assert result.format == "WEBP" and photo.media_type == "image/webp"
    assert dict(result.getexif()) == {} and not result.getexif().get_ifd(GPS_IFD)
    assert "exif" not in result.info and "xmp" not in result.info and "icc_profile" not in result.info
    assert b"PhoneMaker" not in photo.content and b"Exif" not in photo.content


def test_the_photo_is_cropped_square_and_resized():
    photo = process_photo(encoded(halves(1600, 900), "PNG"))
    assert opened(photo.content).size == (PHOTO_SIZE, PHOTO_SIZE) == (photo.width, photo.height)


def test_the_exif_orientation_is_applied_before_cropping():
    # Orientation 6: the camera was turned; shown upright, the red left half is on top.
    upright = opened(process_photo(encoded(halves(), "JPEG", exif=with_gps_and_orientation(6))).content)
    assert is_red(upright.getpixel((PHOTO_SIZE // 2, PHOTO_SIZE // 8)))
    assert is_blue(upright.getpixel((PHOTO_SIZE // 2, PHOTO_SIZE * 7 // 8)))
    # Without the tag: red stays on the left.
    plain = opened(process_photo(encoded(halves(), "JPEG")).content)
    assert is_red(plain.getpixel((PHOTO_SIZE // 8, PHOTO_SIZE // 2)))
    assert is_blue(plain.getpixel((PHOTO_SIZE * 7 // 8, PHOTO_SIZE // 2)))


def test_transparency_is_kept():
    image = Image.new("RGBA", (50, 50), (0, 255, 0, 0))
    result = opened(process_photo(encoded(image, "PNG")).content)
    assert result.mode == "RGBA" and result.getpixel((10, 10))[3] == 0


@pytest.mark.parametrize("side", [7000, 20000])  # 49 million pixels (over our cap); 400 million (over Pillow's)
def test_a_huge_pixel_count_in_a_small_file_is_refused(side):
    bomb = encoded(Image.new("1", (side, side)), "PNG")  # a decompression bomb: a few KB, huge once decoded
    assert len(bomb) < MAX_PHOTO_BYTES
    with pytest.raises(InvalidPhoto, match="too many pixels"):
        process_photo(bomb)


def test_more_pixels_than_the_cap_is_refused():
    with pytest.raises(InvalidPhoto, match="too many pixels"):
        process_photo(encoded(halves(300, 300), "PNG"), max_pixels=300 * 300 - 1)


@pytest.mark.parametrize(("data", "why"), [
    (b"", "Choose a photo"),
    (b"%PDF-1.7 not a photo at all", "not a JPEG, PNG or WebP"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not a JPEG, PNG or WebP"),
    (encoded(Image.new("RGB", (10, 10)), "GIF"), "not a JPEG, PNG or WebP"),
    (encoded(Image.new("RGB", (10, 10)), "BMP"), "not a JPEG, PNG or WebP"),
])
def test_what_is_not_a_photo_is_refused(data, why):
    with pytest.raises(InvalidPhoto, match=why):
        process_photo(data)


def test_a_truncated_image_is_refused():
    data = encoded(halves(400, 400), "PNG")
    with pytest.raises(InvalidPhoto):
        process_photo(data[: len(data) // 2])


def test_more_bytes_than_the_cap_are_refused():
    data = encoded(halves(), "PNG")
    with pytest.raises(InvalidPhoto, match="larger than"):
        process_photo(data, max_bytes=len(data) - 1)
    assert process_photo(data, max_bytes=len(data)).content


@pytest.mark.parametrize("slug", ["ada", "ada-lovelace", "a1-b2-c3", "x" * 60, "Ada-Lovelace", " ada "])
def test_good_slugs(slug):
    assert check_slug(slug) == slug.strip().lower()


@pytest.mark.parametrize("slug", ["", "ab", "x" * 61, "ada lovelace", "ada_lovelace", "-ada", "ada-", "ada--l",
                                  "adá", "ada/../x", "ada.io", None, 5])
def test_bad_slugs(slug):
    with pytest.raises(InvalidProfile) as refused:
        check_slug(slug)
    assert "lower-case letters, digits" in refused.value.errors["slug"]
