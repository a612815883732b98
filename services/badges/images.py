"""Achievement images: uploads proven by their content, SVG sanitized, a default when none.

A PNG must decode (Pillow) within the size and dimension limits. An SVG is parsed without
entity expansion (defusedxml) and rebuilt from an allow-list: scripts, event handlers,
foreignObject, external references (``href`` other than ``#fragment`` or an embedded raster
``data:image/png|jpeg``) and CSS ``url()``/``@import`` are removed, so an image shown on a
badge page can never run code or call out.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import unicodedata
import xml.etree.ElementTree as ET
from base64 import b64encode
from functools import lru_cache
from html import escape

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from services.badges.errors import UnsupportedImage
from shared.problems import FieldError, PayloadTooLarge, UnprocessableContent

PNG = "image/png"
SVG = "image/svg+xml"
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"

_SVG_ELEMENTS = frozenset(
    [
        "svg",
        "g",
        "defs",
        "symbol",
        "use",
        "title",
        "desc",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "textPath",
        "linearGradient",
        "radialGradient",
        "stop",
        "clipPath",
        "mask",
        "pattern",
        "image",
        "marker",
        "filter",
        "feGaussianBlur",
        "feOffset",
        "feBlend",
        "feColorMatrix",
        "feMerge",
        "feMergeNode",
        "feFlood",
        "feComposite",
        "style",
    ]
)
_URL_IN_CSS = re.compile(r"url\s*\(\s*['\"]?\s*(?!#)", re.IGNORECASE)


def sniff(data: bytes) -> str | None:
    """PNG or SVG by content (the declared type proves nothing), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"<?xml", b"<svg", b"<!--")):
        return SVG
    return None


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
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise UnsupportedImage(f"the SVG is not well-formed XML: {exc}") from exc
    if root.tag != f"{{{SVG_NS}}}svg":
        raise UnsupportedImage("the SVG's root element must be <svg> in the SVG namespace")
    _clean(root)
    for side in ("width", "height"):
        value = root.get(side)
        if value and re.fullmatch(r"\d+(\.\d+)?(px)?", value) and float(value.rstrip("px")) > max_pixels:
            raise UnprocessableContent(
                f"the SVG's {side} is {value}; the largest side may be {max_pixels}",
                errors=[FieldError(pointer="/body/image", detail=f"{side} too large")],
            )
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    cleaned: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return cleaned


def _clean(element: ET.Element) -> None:
    for child in list(element):
        local = child.tag.split("}", 1)[-1] if isinstance(child.tag, str) else ""
        if not isinstance(child.tag, str) or not child.tag.startswith(f"{{{SVG_NS}}}") or local not in _SVG_ELEMENTS:
            element.remove(child)  # script, foreignObject, foreign namespaces, comments, PIs
            continue
        if local == "style" and child.text and (_URL_IN_CSS.search(child.text) or "@import" in child.text.lower()):
            element.remove(child)
            continue
        _clean(child)
    for name in list(element.attrib):
        value = element.attrib[name]
        local = name.split("}", 1)[-1].lower()
        if (
            local.startswith("on")
            or (
                local == "href"
                and not (value.startswith("#") or re.match(r"data:image/(png|jpeg);base64,[A-Za-z0-9+/=\s]*$", value))
            )
            or (local == "style" and (_URL_IN_CSS.search(value) or "expression" in value.lower()))
        ):
            del element.attrib[name]
        elif _URL_IN_CSS.search(value):
            del element.attrib[name]  # fill="url(https://…)" and the like


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
