"""Baked badges through the gateway, unbaked and verified by software this project did not write.

The images are fetched without a token, unbaked by other readers (Pillow for PNG iTXt, minidom for
SVG) and verified by Digital Bazaar's verifier and jose (OB 3.0); the OB 2.0 images go whole to
the IMS validator, which unbakes them with its own bakery. Uploads to ``/v1/verify`` go through
the gateway's proxy and rate limiter like any client's.
"""

from __future__ import annotations

import base64
import io
import json
import xml.dom.minidom
from typing import Any

import httpx
from PIL import Image

from tests.e2e.test_badges_interop import Stack, check_ob3_conformance, stack  # noqa: F401 (stack: the fixture)
from tests.services.badges.conftest import ACHIEVEMENT, ISSUER

OB3_NS = "https://purl.imsglobal.org/ob/v3p0"


def png_text(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        text: dict[str, str] = image.text  # type: ignore[attr-defined]
    assert list(text) == ["openbadgecredential"], text
    return text["openbadgecredential"]


def svg_json(data: bytes) -> Any:
    root = xml.dom.minidom.parseString(data).documentElement
    (element,) = root.getElementsByTagNameNS(OB3_NS, "credential")
    return json.loads("".join(node.data for node in element.childNodes if node.nodeType == node.CDATA_SECTION_NODE))


async def _achievement(on: Stack) -> dict[str, Any]:
    issuer = await on.client.post("/v1/issuers", json=ISSUER)
    assert issuer.status_code == 201, issuer.text
    created = await on.client.post("/v1/achievements", json={**ACHIEVEMENT, "issuer_id": issuer.json()["id"]})
    assert created.status_code == 201, created.text
    return dict(created.json())


async def _upload(on: Stack, data: bytes, name: str) -> httpx.Response:
    return await on.client.post("/v1/verify", files={"file": (name, data, "application/octet-stream")})


async def test_baked_images_verify_in_independent_verifiers_and_in_ours(stack: Stack, backend: str) -> None:  # noqa: F811
    achievement = await _achievement(stack)
    badge = await stack.issue(achievement["id"])
    links = badge["links"]
    async with httpx.AsyncClient(base_url=stack.base, timeout=30) as anyone:  # no token
        got = {
            "png": await anyone.get(stack.path(links["baked_png"])),
            "svg": await anyone.get(stack.path(links["baked_svg"])),
            "jwt png": await anyone.get(stack.path(links["baked_png"]), params={"proof": "jwt"}),
            "ob2 png": await anyone.get(stack.path(links["ob2_baked_png"])),
            "ob2 svg": await anyone.get(stack.path(links["ob2_baked_svg"])),
        }
    assert {name: r.status_code for name, r in got.items()} == dict.fromkeys(got, 200)
    assert got["svg"].headers["content-type"] == "image/svg+xml"
    assert got["png"].headers["content-disposition"].startswith("attachment; filename=")

    from_png, from_svg = png_text(got["png"].content), svg_json(got["svg"].content)
    jwt = png_text(got["jwt png"].content)
    kid = json.loads(base64.urlsafe_b64decode(jwt.split(".")[0] + "==="))["kid"]
    jwk = (await stack.client.get(stack.path(kid))).json()
    di_png, di_svg = await stack.node("verify-di.mjs", [{"credential": json.loads(from_png)}, {"credential": from_svg}])
    issuer = badge["credential"]["issuer"]["id"]
    (jose,) = await stack.node("verify-jwt.mjs", [{"jwt": jwt, "jwk": jwk, "issuer": issuer}])
    ims_png, ims_svg = await stack.ob2(
        [
            {"image": base64.b64encode(got[name].content).decode(), "recipient": "educator@demo.test"}
            for name in ("ob2 png", "ob2 svg")
        ]
    )
    ours = {name: (await _upload(stack, r.content, "badge")).json() for name, r in got.items()}

    assert json.loads(from_png) == from_svg == badge["credential"]
    assert di_png["verified"] is True, di_png
    assert di_svg["verified"] is True, di_svg
    assert jose["verified"] is True, jose
    await check_ob3_conformance(stack, from_svg, jwt, jwk)
    assert (ims_png["valid"], ims_png["report"]["input_type"]) == (True, "jws"), ims_png
    assert ims_svg["valid"] is True, ims_svg
    assert {name: r["verified"] for name, r in ours.items()} == dict.fromkeys(got, True), ours
    assert all(r["checks"][0]["name"] == "baked" for r in ours.values())

    revoked = await stack.client.post(f"/v1/badges/{badge['id']}/revoke", json={"reason": "issued in error"})
    assert revoked.status_code == 200
    after = await stack.client.get(stack.path(links["ob2_baked_png"]))
    (ims_after,) = await stack.ob2([{"image": base64.b64encode(after.content).decode()}])
    (di_after,) = await stack.node("verify-di.mjs", [{"credential": json.loads(from_png)}])
    ours_after = (await _upload(stack, got["svg"].content, "badge.svg")).json()

    assert after.status_code == 200, "a revoked badge still bakes: the verifiers say revoked"
    assert (ims_after["valid"], ims_after["revoked"]) == (False, True), ims_after
    assert di_after["verified"] is False
    assert (ours_after["verified"], ours_after["status"]) == (False, "revoked")


async def test_bad_uploads_through_the_gateway_are_4xx_problems(stack: Stack, backend: str) -> None:  # noqa: F811
    plain = io.BytesIO()
    Image.new("RGB", (4, 4)).save(plain, format="PNG")
    not_image = await _upload(stack, b"%PDF-1.7\n", "notes.pdf")
    oversize = await _upload(stack, b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024 + 1), "huge.png")
    no_credential = await _upload(stack, plain.getvalue(), "plain.png")
    as_json = await stack.client.post("/v1/verify", json={"url": "not a url"})

    assert (not_image.status_code, oversize.status_code, no_credential.status_code) == (415, 413, 422)
    assert as_json.status_code == 422, "the JSON form is unchanged"
    for response in (not_image, oversize, no_credential, as_json):
        assert response.headers["content-type"] == "application/problem+json", response.text
    assert no_credential.json()["errors"][0]["pointer"] == "/body/file"
