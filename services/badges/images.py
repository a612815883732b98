"""Achievement images: uploads proven by their content, a default when none, renditions for baking.

A PNG must decode (Pillow) within the size and dimension limits; an SVG is sanitized
(``openbadges/images.py``). Whatever the upload's problem, the answer is a 413/415/422 problem.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import unicodedata
from base64 import b64encode
from functools import lru_cache
from html import escape

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from services.badges.errors import UnsupportedImage
from services.badges.openbadges import images as formats
from services.badges.openbadges.images import PNG, SVG, SVG_NS, XLINK_NS, sniff
from shared.problems import FieldError, PayloadTooLarge, UnprocessableContent

__all__ = ["PNG", "SVG", "badge_png", "default_image", "sanitize_svg", "svg_with_png", "validate_upload"]


def validate_upload(data: bytes, declared: str | None, *, max_bytes: int, max_pixels: int) -> tuple[bytes, str]:
    """The image to store and its media type, or a 413/415/422 problem naming what is wrong."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the image is {len(data)} bytes; the limit is {max_bytes}")
    kind = sniff(data)
    if kind == PNG:
        return _png(data, max_pixels), PNG
    if kind == SVG:
        return sanitize_svg(data, max_pixels), SVG
    raise UnsupportedImage(
        f"the upload is not a PNG or SVG image (declared {declared or 'no type'}); the content decides",
        accepted=[PNG, SVG],
    )


def _png(data: bytes, max_pixels: int) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width > max_pixels or height > max_pixels:
                raise UnprocessableContent(
                    f"the image is {width}x{height}; the largest side may be {max_pixels}",
                    errors=[FieldError(pointer="/body/image", detail="too many pixels")],
                )
            image.verify()  # reads the whole stream: truncated or corrupt data fails here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise UnsupportedImage("the PNG image is damaged or not a PNG") from exc
    return data


def sanitize_svg(data: bytes, max_pixels: int) -> bytes:
    """The sanitized SVG, or the 415/422 problem naming what is wrong with it."""
    try:
        return formats.sanitize_svg(data, max_pixels)
    except formats.ImageTooLarge as exc:
        raise UnprocessableContent(
            str(exc), errors=[FieldError(pointer="/body/image", detail=f"{exc.side} too large")]
        ) from exc
    except formats.ImageRefused as exc:
        raise UnsupportedImage(str(exc)) from exc


_PALETTE = ("#1f5f8b", "#2e7d32", "#6a1b9a", "#b23c17", "#00695c", "#4e342e", "#283593", "#ad1457")


_MINOR_WORDS = frozenset({"a", "an", "and", "for", "in", "of", "on", "the", "to", "with"})


def _initials(name: str) -> str:
    """Up to three initials of the name's main part: "Formative Assessment — Tier 1" is "FA"
    (what follows a dash or colon qualifies the name; small words carry no initial)."""
    main = re.split(r"\s[\u2014\u2013-]\s|:\s", name.strip(), maxsplit=1)[0]  # em or en dash, hyphen
    words = [w for w in re.split(r"\s+", main) if w[:1].isalnum()]
    words = [w for w in words if w.casefold() not in _MINOR_WORDS] or words
    return "".join(w[0] for w in words[:3]).upper() or "★"


def _color(seed: str) -> str:
    return _PALETTE[hashlib.sha256(seed.encode()).digest()[0] % len(_PALETTE)]


def default_image(name: str, seed: str) -> tuple[bytes, str]:
    """A plain, accessible badge (initials on a colored disc) for achievements without an image."""
    svg = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="{SVG_NS}" width="400" height="400" viewBox="0 0 400 400" role="img">'
        f"<title>{escape(name)}</title>"
        f'<circle cx="200" cy="200" r="190" fill="{_color(seed)}"/>'
        '<circle cx="200" cy="200" r="165" fill="none" stroke="#ffffff" stroke-width="8"/>'
        '<text x="200" y="200" text-anchor="middle" dominant-baseline="central" '
        'font-family="sans-serif" font-size="120" font-weight="bold" fill="#ffffff">'
        f"{escape(_initials(name))}</text></svg>"
    )
    return svg.encode(), SVG


# --- renditions for baking: a baked PNG needs a PNG, a baked SVG an SVG ------------------------

_SCALE = 3  # drawn larger, then reduced: smooth edges without an anti-aliasing renderer


@lru_cache(maxsize=1)
def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's bundled font: the same glyphs on every machine, no system fonts to depend on.
    return ImageFont.load_default(size=120 * _SCALE)


@lru_cache(maxsize=128)  # ~40 KB each; drawing one takes tens of milliseconds
def badge_png(name: str, seed: str) -> bytes:
    """The default badge (the disc, ring and initials of ``default_image``) drawn as a 400 x 400 PNG.

    A baked PNG is needed for every badge, but most achievements only have an SVG (the default,
    or an upload). Rasterizing arbitrary SVG needs a native renderer (cairo, a browser) that this
    service does not carry, so the PNG is the default badge drawn with Pillow, in the same color
    from the same seed; an uploaded SVG's own artwork is in the baked SVG.
    """
    side = 400 * _SCALE
    canvas = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    center = side / 2

    def disc(radius: float) -> tuple[float, float, float, float]:
        return (center - radius, center - radius, center + radius, center + radius)

    draw.ellipse(disc(190 * _SCALE), fill=_color(seed))
    draw.ellipse(disc(169 * _SCALE), outline="#ffffff", width=8 * _SCALE)
    # The bundled font draws ASCII only: accents are folded (É → E); any other script, a star.
    initials = unicodedata.normalize("NFKD", _initials(name)).encode("ascii", "ignore").decode()
    if initials.isalnum():
        draw.text(
            (center, center),
            initials,
            font=_font(),
            fill="#ffffff",
            anchor="mm",
            stroke_width=3 * _SCALE,  # the SVG's text is bold; the bundled font is regular
            stroke_fill="#ffffff",
        )
    else:
        outer, inner = 95 * _SCALE, 38 * _SCALE
        star = [
            (
                center + (outer if i % 2 == 0 else inner) * math.sin(i * math.pi / 5),
                center - (outer if i % 2 == 0 else inner) * math.cos(i * math.pi / 5),
            )
            for i in range(10)
        ]
        draw.polygon(star, fill="#ffffff")
    small = canvas.resize((400, 400), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, format="PNG")
    return out.getvalue()


def svg_with_png(png: bytes, name: str, width: int, height: int) -> bytes:
    """An SVG showing a PNG (embedded as a data URI, which the sanitizer allows): the carrier of a
    baked SVG when the achievement's image is a PNG."""
    data = b64encode(png).decode("ascii")
    svg = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="{SVG_NS}" xmlns:xlink="{XLINK_NS}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img"><title>{escape(name)}</title>'
        f'<image width="{width}" height="{height}" xlink:href="data:image/png;base64,{data}"/></svg>'
    )
    return svg.encode()
