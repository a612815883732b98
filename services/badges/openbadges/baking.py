"""Baked badges: a credential carried inside its own image (Open Badges baking, OB 2.0 and 3.0).

PNG: one uncompressed ``iTXt`` chunk just before ``IEND`` — keyword ``openbadgecredential`` for
OB 3.0 (the credential's JSON or its VC-JWT), ``openbadges`` for OB 2.0 (a signed JWS or a hosted
assertion's URL). SVG: right after the ``<svg>`` tag, ``<openbadges:credential>`` in the namespace
``https://purl.imsglobal.org/ob/v3p0`` (JSON in CDATA, or a VC-JWT in ``verify``) or
``<openbadges:assertion verify="…"/>`` in ``http://openbadges.org``. A file carries one
credential of one version, never both.

Written with the standard library (CRC-32 from zlib, struct) rather than a PNG library: the format
is small, and the reader runs on untrusted uploads, so it decompresses nothing, checks every
chunk's length, type and CRC, and refuses a damaged file or one that carries more than one
credential, naming what is wrong.
"""

from __future__ import annotations

import json
import re
import struct
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass
from typing import Literal

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from services.badges.openbadges.images import PNG, SVG, SVG_NS, sanitize_svg, sniff

Version = Literal["ob3", "ob2"]
VERSIONS: tuple[Version, ...] = ("ob3", "ob2")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORDS: dict[Version, bytes] = {"ob3": b"openbadgecredential", "ob2": b"openbadges"}
SVG_NAMESPACES: dict[Version, str] = {"ob3": "https://purl.imsglobal.org/ob/v3p0", "ob2": "http://openbadges.org"}
SVG_ELEMENTS: dict[Version, str] = {"ob3": "credential", "ob2": "assertion"}
_VERSION_OF_KEYWORD = {keyword: version for version, keyword in KEYWORDS.items()}
_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
_MAX_CHUNK = 2**31 - 1  # PNG: a chunk length is at most 2^31 - 1
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ANY_SIZE = 1 << 30  # a stored image was size-checked at upload; baking does not check again


class BakeError(ValueError):
    """The image is damaged, or carries no credential, or more than one."""


class NotAnImage(BakeError):
    """Neither a PNG nor an SVG, by content."""


class NoCredential(BakeError):
    """A well-formed image with no baked credential in it."""


@dataclass(frozen=True)
class Baked:
    """What an image carries: the version its keyword or element names, and the text baked in
    (a credential's JSON, a compact JWS/JWT, or a hosted assertion's URL)."""

    version: Version
    text: str
    where: str  # "PNG iTXt chunk 'openbadgecredential'", for messages


@dataclass(frozen=True)
class Chunk:
    type: bytes
    data: bytes
    offset: int

    @property
    def keyword(self) -> bytes | None:
        """A text chunk's keyword (everything before its first NUL)."""
        return self.data.split(b"\0", 1)[0] if self.type in _TEXT_CHUNKS else None


# --- PNG ----------------------------------------------------------------------------------------


def png_chunks(data: bytes) -> list[Chunk]:
    """Every chunk from IHDR to IEND, each checked; bytes after IEND are not part of the image."""
    if not data.startswith(PNG_SIGNATURE):
        raise NotAnImage("not a PNG: the 8-byte PNG signature is missing")
    chunks: list[Chunk] = []
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise BakeError(f"the PNG is truncated at byte {pos}: it ends before its IEND chunk")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if length > _MAX_CHUNK or not kind.isalpha():
            raise BakeError(f"the PNG is damaged: the chunk header at byte {pos} is not valid")
        end = pos + 12 + length
        if end > len(data):
            raise BakeError(f"the PNG is truncated: its {kind.decode()} chunk at byte {pos} is cut short")
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(kind + body) != crc:
            raise BakeError(f"the PNG is damaged: its {kind.decode()} chunk at byte {pos} fails its CRC check")
        if not chunks and kind != b"IHDR":
            raise BakeError("the PNG is damaged: its first chunk is not IHDR")
        chunks.append(Chunk(kind, body, pos))
        pos = end
        if kind == b"IEND":
            return chunks


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk."""
    header = png_chunks(data)[0].data
    if len(header) != 13:
        raise BakeError("the PNG is damaged: its IHDR chunk is not 13 bytes")
    width, height = struct.unpack(">II", header[:8])
    return int(width), int(height)


def _encode(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _assemble(chunks: list[Chunk]) -> bytes:
    return b"".join([PNG_SIGNATURE, *(_encode(c.type, c.data) for c in chunks)])


def _without_credentials(data: bytes) -> list[Chunk]:
    # Any text chunk (tEXt, zTXt, iTXt) with either keyword: a PNG carries one credential at most.
    return [chunk for chunk in png_chunks(data) if chunk.keyword not in _VERSION_OF_KEYWORD]


def clean_png(data: bytes) -> bytes:
    """The PNG without any baked credential (an uploaded image may have been a baked badge)."""
    return _assemble(_without_credentials(data))


def bake_png(image: bytes, version: Version, text: str) -> bytes:
    """The PNG with ``text`` in one uncompressed iTXt chunk before IEND, replacing any earlier one."""
    if not text:
        raise ValueError("nothing to bake")
    chunks = _without_credentials(image)
    # keyword, NUL, compression flag 0 and method 0, empty language tag and translated keyword
    # (each NUL-terminated), then the UTF-8 text: nothing is compressed (both specs require it).
    itxt = Chunk(b"iTXt", KEYWORDS[version] + b"\0\0\0\0\0" + text.encode("utf-8"), 0)
    return _assemble([*chunks[:-1], itxt, chunks[-1]])


def _itxt_text(chunk: Chunk, keyword: bytes) -> str:
    rest = chunk.data[len(keyword) + 1 :]
    where = f"the iTXt chunk '{keyword.decode()}' at byte {chunk.offset}"
    if len(rest) < 2 or rest[0] not in (0, 1):
        raise BakeError(f"{where} is damaged: no valid compression flag")
    if rest[0] == 1:
        raise BakeError(f"{where} is compressed; a baked credential must not be (Open Badges baking)")
    _language, sep, rest = rest[2:].partition(b"\0")
    _translated, sep2, text = rest.partition(b"\0")
    if not sep or not sep2:
        raise BakeError(f"{where} is damaged: its language tag or translated keyword is not terminated")
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BakeError(f"{where} is damaged: its text is not UTF-8") from exc


def unbake_png(data: bytes) -> Baked:
    found: list[Baked] = []
    for chunk in png_chunks(data):
        keyword = chunk.keyword
        if keyword is None or keyword not in _VERSION_OF_KEYWORD:
            continue
        version = _VERSION_OF_KEYWORD[keyword]
        where = f"PNG {chunk.type.decode()} chunk '{keyword.decode()}'"
        if chunk.type == b"zTXt":
            raise BakeError(f"the {where} at byte {chunk.offset} is compressed; a baked credential must not be")
        # Before baking was specified, a hosted assertion's URL went into tEXt:openbadges.
        legacy = chunk.type == b"tEXt"
        text = chunk.data[len(keyword) + 1 :].decode("latin-1") if legacy else _itxt_text(chunk, keyword)
        found.append(Baked(version, text.strip(), where))
    return _one(found, "PNG", "no iTXt chunk with the keyword openbadgecredential or openbadges")


def _one(found: list[Baked], image: str, none: str) -> Baked:
    if not found:
        raise NoCredential(f"the {image} carries no Open Badges credential: {none}")
    if len(found) > 1:
        places = ", ".join(b.where for b in found)
        raise BakeError(f"the {image} carries {len(found)} credentials ({places}); a baked badge carries exactly one")
    if not found[0].text:
        raise NoCredential(f"the {found[0].where} is empty")
    return found[0]


# --- SVG ----------------------------------------------------------------------------------------


def bake_svg(image: bytes, version: Version, text: str) -> bytes:
    """The SVG, sanitized again (which also drops any earlier credential element), with one
    credential element directly after the ``<svg>`` start tag.

    OB 3.0 JSON goes into CDATA; a compact JWS/JWT or a URL into ``verify`` (an empty element).
    """
    if not text:
        raise ValueError("nothing to bake")
    is_json = text.lstrip().startswith("{")
    if is_json and version == "ob2":
        raise ValueError("an OB 2.0 badge is baked as its signed JWS or its hosted URL")
    # ElementTree escapes '<', '>', '&' and quotes in attribute values, so in its output the first
    # '>' after the declaration ends the root's start tag: the element is spliced in there, with a
    # prefix of our own, instead of registering it in ElementTree's process-wide namespace map.
    svg = sanitize_svg(image, _ANY_SIZE).decode("utf-8")
    declaration_end = svg.index("?>") + 2
    tag_end = svg.index(">", declaration_end)
    ns = SVG_NAMESPACES[version]
    element = f"openbadges:{SVG_ELEMENTS[version]}"
    if is_json:
        # Outside ASCII and in "]]>" (which would end the CDATA section) JSON can only be inside a
        # string, where a \uXXXX escape is the same text to any JSON parser: escaped, the CDATA
        # is plain ASCII, so no character XML 1.0 forbids (U+FFFE, say) can reach it.
        cdata = _NON_ASCII.sub(lambda m: json.dumps(m.group())[1:-1], text).replace("]]>", "]]\\u003e")
        payload = f"<{element}><![CDATA[{cdata}]]></{element}>"
    else:
        payload = f'<{element} verify="{_attribute(text)}"/>'
    start = svg[declaration_end:tag_end].strip()
    if start.endswith("/"):  # <svg …/>: an image without children
        closing = start.split()[0].replace("<", "</", 1) + ">"
        start, payload = start[:-1].rstrip(), payload + closing
    baked = f'<?xml version="1.0" encoding="UTF-8"?>\n{start} xmlns:openbadges="{ns}">{payload}{svg[tag_end + 1 :]}'
    return baked.encode("utf-8")


def _attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;").replace(">", "&gt;")


def unbake_svg(data: bytes) -> Baked:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise BakeError(f"the SVG is not well-formed XML (or declares entities): {exc}") from exc
    if root.tag != f"{{{SVG_NS}}}svg":
        raise BakeError("the SVG's root element is not <svg> in the SVG namespace")
    found: list[Baked] = []
    tags = {f"{{{SVG_NAMESPACES[v]}}}{SVG_ELEMENTS[v]}": v for v in VERSIONS}
    for element in root.iter():
        version = tags.get(element.tag) if isinstance(element.tag, str) else None
        if version is None:
            continue
        verify = (element.get("verify") or "").strip()
        body = "".join(element.itertext()).strip()
        # OB 3.0: a VC-JWT in verify, else JSON in the body. OB 2.0: an assertion's JSON in the
        # body (verify then holds its URL), else a JWS or a hosted URL in verify.
        text = (verify or body) if version == "ob3" else (body or verify)
        found.append(Baked(version, text, f"SVG <openbadges:{SVG_ELEMENTS[version]}> element"))
    return _one(found, "SVG", "no <openbadges:credential> or <openbadges:assertion> element")


def unbake(data: bytes) -> Baked:
    """The credential baked into a PNG or SVG, or a BakeError naming what is wrong."""
    kind = sniff(data)
    if kind == PNG:
        return unbake_png(data)
    if kind == SVG:
        return unbake_svg(data)
    raise NotAnImage("the upload is neither a PNG nor an SVG image")
