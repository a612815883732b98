"""Badge image formats: PNG or SVG told by content, and SVG made safe to show.

An SVG is parsed without entity expansion (defusedxml) and rebuilt from an allow-list: scripts,
event handlers, foreignObject, external references (``href`` other than ``#fragment`` or an
embedded raster ``data:image/png|jpeg``) and CSS ``url()``/``@import`` are removed, so an image
shown on a badge page can never run code or call out.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

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


class ImageRefused(ValueError):
    """Not an image this library accepts (not well-formed, or not an SVG at its root)."""


class ImageTooLarge(ImageRefused):
    """A side larger than allowed; ``side`` names it ("width" or "height")."""

    def __init__(self, message: str, side: str) -> None:
        super().__init__(message)
        self.side = side


def sanitize_svg(data: bytes, max_pixels: int) -> bytes:
    """The SVG rebuilt from the allow-list; ``ImageRefused`` (or ``ImageTooLarge``) otherwise."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise ImageRefused(f"the SVG is not well-formed XML: {exc}") from exc
    if root.tag != f"{{{SVG_NS}}}svg":
        raise ImageRefused("the SVG's root element must be <svg> in the SVG namespace")
    _clean(root)
    for side in ("width", "height"):
        value = root.get(side)
        if value and re.fullmatch(r"\d+(\.\d+)?(px)?", value) and float(value.rstrip("px")) > max_pixels:
            raise ImageTooLarge(f"the SVG's {side} is {value}; the largest side may be {max_pixels}", side)
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
