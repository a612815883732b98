"""The PNG iTXt and SVG baking codec: round trips, what other readers see, and refused damage."""

from __future__ import annotations

import io
import json
import struct
import xml.dom.minidom
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from services.badges import images
from services.badges.openbadges import baking
from services.badges.openbadges.baking import BakeError, NoCredential, NotAnImage

OB3_NS = "https://purl.imsglobal.org/ob/v3p0"
OB2_NS = "http://openbadges.org"
CREDENTIAL = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "name": "Évaluation «formative» — 形成性評価 👩‍🏫",
    "narrative": "ends a CDATA ]]> then </script><script>alert(1)</script><![CDATA[ and quotes \"'",
}
JWT = "eyJhbGciOiJFZERTQSJ9.eyJ2YyI6e319.c2lnbmF0dXJl"


@pytest.fixture(scope="module")
def png() -> bytes:
    return images.badge_png("Formative Assessment", "seed")


@pytest.fixture(scope="module")
def svg() -> bytes:
    return images.default_image("Formative Assessment", "seed")[0]


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def with_chunk_before_iend(data: bytes, raw: bytes) -> bytes:
    iend = data.rindex(b"IEND") - 4
    return data[:iend] + raw + data[iend:]


# --- PNG ----------------------------------------------------------------------------------------


def test_a_baked_png_carries_one_uncompressed_itxt_chunk_just_before_iend(png: bytes) -> None:
    text = json.dumps(CREDENTIAL, ensure_ascii=False, separators=(",", ":"))
    baked = baking.bake_png(png, "ob3", text)
    chunks = baking.png_chunks(baked)
    itxt = [c for c in chunks if c.type == b"iTXt"]

    assert [c.type for c in chunks[-2:]] == [b"iTXt", b"IEND"]
    assert len(itxt) == 1
    assert itxt[0].data.startswith(b"openbadgecredential\x00\x00\x00\x00\x00"), "flag 0, method 0, no tags"
    assert baking.unbake_png(baked) == baking.Baked("ob3", text, "PNG iTXt chunk 'openbadgecredential'")
    # Another reader (Pillow checks every CRC and decodes iTXt itself) sees the same text and image.
    with Image.open(io.BytesIO(baked)) as image:
        image.load()
        assert image.text == {"openbadgecredential": text}  # type: ignore[attr-defined]
        assert image.size == (400, 400)
        assert image.tobytes() == Image.open(io.BytesIO(png)).tobytes()


def test_rebaking_replaces_the_earlier_credential_of_either_version(png: bytes) -> None:
    legacy = with_chunk_before_iend(png, chunk(b"tEXt", b"openbadges\x00https://old.example/assertion/1"))
    once = baking.bake_png(legacy, "ob3", JWT)
    twice = baking.bake_png(once, "ob2", "a.b.c")
    keywords = [c.keyword for c in baking.png_chunks(twice) if c.keyword is not None]

    assert baking.unbake_png(legacy).text == "https://old.example/assertion/1", "pre-spec tEXt URL is read"
    assert baking.unbake_png(once).text == JWT
    assert keywords == [b"openbadges"]
    assert baking.unbake_png(twice) == baking.Baked("ob2", "a.b.c", "PNG iTXt chunk 'openbadges'")
    assert baking.clean_png(twice) == png


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1).map(str.strip).filter(bool))
def test_any_text_round_trips_through_a_png(text: str) -> None:
    png = images.badge_png("Round Trip", "seed")
    assert baking.unbake_png(baking.bake_png(png, "ob3", text)).text == text


def test_bytes_after_iend_are_not_part_of_the_image(png: bytes) -> None:
    baked = baking.bake_png(png + b"trailing junk", "ob2", "a.b.c")
    assert baked.endswith(chunk(b"IEND", b""))
    assert baking.unbake_png(baked + b"more junk").text == "a.b.c"


def damaged(png: bytes) -> dict[str, tuple[bytes, str]]:
    baked = baking.bake_png(png, "ob3", JWT)
    idat = baked.index(b"IDAT") + 10
    return {
        "bad CRC": (baked[:idat] + bytes([baked[idat] ^ 0xFF]) + baked[idat + 1 :], "fails its CRC check"),
        "truncated": (baked[: len(baked) // 2], "truncated"),
        "no IEND": (baked[:-12], "truncated"),
        "header cut": (baked[:20], "truncated"),
        "two credentials": (
            with_chunk_before_iend(baked, chunk(b"iTXt", b"openbadgecredential\x00\x00\x00\x00\x00x.y.z")),
            "carries 2 credentials",
        ),
        "both versions": (
            with_chunk_before_iend(baked, chunk(b"iTXt", b"openbadges\x00\x00\x00\x00\x00x.y.z")),
            "carries 2 credentials",
        ),
        "compressed": (
            with_chunk_before_iend(png, chunk(b"iTXt", b"openbadges\x00\x01\x00\x00\x00" + zlib.compress(b"a.b.c"))),
            "compressed",
        ),
        "zTXt": (
            with_chunk_before_iend(png, chunk(b"zTXt", b"openbadges\x00\x00" + zlib.compress(b"a.b.c"))),
            "compressed",
        ),
        "bad flag": (with_chunk_before_iend(png, chunk(b"iTXt", b"openbadges\x00\x07\x00\x00\x00x")), "flag"),
        "unterminated": (with_chunk_before_iend(png, chunk(b"iTXt", b"openbadges\x00\x00\x00en")), "terminated"),
        "not UTF-8": (with_chunk_before_iend(png, chunk(b"iTXt", b"openbadges\x00\x00\x00\x00\x00\xff\xfe")), "UTF-8"),
        "IHDR not first": (baking.PNG_SIGNATURE + chunk(b"tEXt", b"a\x00b") + png[8:], "not IHDR"),
        "bad chunk type": (png[:33] + chunk(b"1234", b"") + png[33:], "not valid"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "bad CRC",
        "truncated",
        "no IEND",
        "header cut",
        "two credentials",
        "both versions",
        "compressed",
        "zTXt",
        "bad flag",
        "unterminated",
        "not UTF-8",
        "IHDR not first",
        "bad chunk type",
    ],
)
def test_a_damaged_or_ambiguous_png_is_refused_naming_the_problem(png: bytes, case: str) -> None:
    data, expected = damaged(png)[case]
    with pytest.raises(BakeError) as raised:
        baking.unbake(data)
    assert expected in str(raised.value)
    assert not isinstance(raised.value, (NotAnImage, NoCredential))


def test_a_png_without_a_credential_and_a_non_image_are_told_apart(png: bytes) -> None:
    with pytest.raises(NoCredential, match="no iTXt chunk with the keyword openbadgecredential"):
        baking.unbake(png)
    with pytest.raises(NotAnImage):
        baking.unbake(b"%PDF-1.7 not an image")
    with pytest.raises(NotAnImage):
        baking.unbake_png(b"<svg/>")
    empty = with_chunk_before_iend(png, chunk(b"iTXt", b"openbadges\x00\x00\x00\x00\x00  "))
    with pytest.raises(NoCredential, match="empty"):
        baking.unbake(empty)


# --- SVG ----------------------------------------------------------------------------------------


def test_an_ob3_json_credential_goes_into_cdata_of_one_element_right_after_the_svg_tag(svg: bytes) -> None:
    text = json.dumps(CREDENTIAL, separators=(",", ":"), ensure_ascii=False)
    baked = baking.bake_svg(svg, "ob3", text)
    # minidom, not ElementTree: another parser, which also shows the CDATA section as such.
    root = xml.dom.minidom.parseString(baked).documentElement
    first = next(node for node in root.childNodes if node.nodeType == node.ELEMENT_NODE)
    elements = root.getElementsByTagNameNS(OB3_NS, "credential")

    assert root.getAttribute("xmlns:openbadges") == OB3_NS
    assert first.tagName == "openbadges:credential"
    assert len(elements) == 1
    assert not first.hasAttribute("verify")
    assert [node.nodeType for node in first.childNodes] == [first.CDATA_SECTION_NODE]
    assert json.loads(first.childNodes[0].data) == CREDENTIAL
    assert first.childNodes[0].data.isascii(), "non-ASCII is escaped inside the JSON strings"
    assert root.getElementsByTagName("script") == [], "the ]]> in the narrative did not end the CDATA"
    unbaked = baking.unbake_svg(baked)
    assert (unbaked.version, json.loads(unbaked.text)) == ("ob3", CREDENTIAL)


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",))))
def test_any_string_in_a_credential_round_trips_through_an_svg(value: str) -> None:
    svg = images.default_image("Round Trip", "seed")[0]
    text = json.dumps({"value": value, "tail": "]]>"}, separators=(",", ":"), ensure_ascii=False)
    assert json.loads(baking.unbake_svg(baking.bake_svg(svg, "ob3", text)).text) == {"value": value, "tail": "]]>"}


def test_a_jwt_or_jws_goes_into_verify_of_an_empty_element(svg: bytes) -> None:
    ob3 = baking.bake_svg(svg, "ob3", JWT)
    ob2 = baking.bake_svg(svg, "ob2", JWT)
    ob3_root = xml.dom.minidom.parseString(ob3).documentElement
    ob2_root = xml.dom.minidom.parseString(ob2).documentElement
    (credential,) = ob3_root.getElementsByTagNameNS(OB3_NS, "credential")
    (assertion,) = ob2_root.getElementsByTagNameNS(OB2_NS, "assertion")

    assert (credential.getAttribute("verify"), credential.childNodes.length) == (JWT, 0)
    assert (assertion.getAttribute("verify"), assertion.childNodes.length) == (JWT, 0)
    assert assertion.tagName == "openbadges:assertion", "the IMS bakery looks the prefixed name up"
    assert ob2_root.getAttribute("xmlns:openbadges") == OB2_NS
    assert ob3_root.getElementsByTagNameNS(OB2_NS, "assertion") == [], "never both versions in one file"
    assert baking.unbake_svg(ob3) == baking.Baked("ob3", JWT, "SVG <openbadges:credential> element")
    assert baking.unbake_svg(ob2) == baking.Baked("ob2", JWT, "SVG <openbadges:assertion> element")
    with pytest.raises(ValueError, match="JWS or its hosted URL"):
        baking.bake_svg(svg, "ob2", "{}")


def test_baking_an_svg_keeps_it_sanitized_and_replaces_an_earlier_credential() -> None:
    hostile = (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org" onload="alert(1)">'
        b'<openbadges:assertion verify="https://old.example/a/1"/>'
        b"<script>alert(2)</script><circle r='4' onclick='alert(3)'/></svg>"
    )
    baked = baking.bake_svg(hostile, "ob3", JWT)
    root = xml.dom.minidom.parseString(baked).documentElement
    attributes = [name for node in [*root.getElementsByTagName("*"), root] for name in dict(node.attributes.items())]

    assert root.getElementsByTagName("script") == []
    assert not [name for name in attributes if name.lower().startswith("on")]
    assert root.getElementsByTagNameNS(OB2_NS, "assertion") == []
    assert baking.unbake_svg(baked).text == JWT
    empty = baking.bake_svg(b'<svg xmlns="http://www.w3.org/2000/svg"/>', "ob2", "a.b.c")
    assert empty.endswith(b'<openbadges:assertion verify="a.b.c"/></svg>')
    assert baking.unbake_svg(empty).text == "a.b.c"


def test_an_svg_of_a_png_shows_it_as_a_data_uri(png: bytes) -> None:
    baked = baking.bake_svg(images.svg_with_png(png, "A & B", 400, 400), "ob3", JWT)
    root = xml.dom.minidom.parseString(baked).documentElement
    (image,) = root.getElementsByTagName("image")
    assert image.getAttribute("xlink:href").startswith("data:image/png;base64,")
    assert root.getElementsByTagName("title")[0].firstChild.data == "A & B"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "error", "expected"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><unclosed></svg>", BakeError, "not well-formed"),
        (
            b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg">&b;</svg>',
            BakeError,
            "entities",
        ),
        (b"<svg><title>no namespace</title></svg>", BakeError, "root element"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><title>plain</title></svg>', NoCredential, "no <openbadges"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:a="https://purl.imsglobal.org/ob/v3p0">'
            b'<a:credential verify="x.y.z"/><a:credential verify="x.y.z"/></svg>',
            BakeError,
            "carries 2 credentials",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:a="https://purl.imsglobal.org/ob/v3p0"'
            b' xmlns:b="http://openbadges.org"><a:credential verify="x.y.z"/><b:assertion verify="x.y.z"/></svg>',
            BakeError,
            "carries 2 credentials",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:a="https://purl.imsglobal.org/ob/v3p0">'
            b"<a:credential>  </a:credential></svg>",
            NoCredential,
            "empty",
        ),
    ],
)
def test_a_damaged_or_ambiguous_svg_is_refused_naming_the_problem(
    data: bytes, error: type[BakeError], expected: str
) -> None:
    with pytest.raises(error) as raised:
        baking.unbake(data)
    assert expected in str(raised.value)
    assert type(raised.value) is error


def test_the_element_is_found_by_namespace_not_by_prefix() -> None:
    data = (
        b'<svg xmlns="http://www.w3.org/2000/svg"><g><ob:assertion xmlns:ob="http://openbadges.org">'
        b'<![CDATA[ {"id": "https://issuer.example/a/1"} ]]></ob:assertion></g></svg>'
    )
    assert baking.unbake(data) == baking.Baked(
        "ob2", '{"id": "https://issuer.example/a/1"}', "SVG <openbadges:assertion> element"
    )
