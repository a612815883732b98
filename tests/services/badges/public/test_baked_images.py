"""Baked badge images (public) and the verifier's image upload, through the badges app."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from services.badges.openbadges import baking
from tests.conftest import AppFactory
from tests.services.badges.conftest import Badges
from tests.support import asgi_client

BASE = "http://127.0.0.1:8000"


def path(url: str) -> str:
    assert url.startswith(BASE), url
    return url[len(BASE) :]


async def _badge(badges: Badges, **overrides: Any) -> dict[str, Any]:
    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    response = await badges.issue(achievement["id"], **overrides)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _verify_upload(badges: Badges, data: bytes, name: str = "badge.png", **form: str) -> Any:
    return await badges.client.post("/v1/verify", files={"file": (name, data, "application/octet-stream")}, data=form)


async def test_every_badge_links_four_baked_images_that_carry_its_signed_forms(badges: Badges, backend: str) -> None:
    badge = await _badge(badges)
    links = badge["links"]
    c = badges.client  # no identity header: these are public
    png = await c.get(path(links["baked_png"]))
    svg = await c.get(path(links["baked_svg"]))
    png_jwt = await c.get(path(links["baked_png"]), params={"proof": "jwt"})
    ob2_png = await c.get(path(links["ob2_baked_png"]))
    ob2_svg = await c.get(path(links["ob2_baked_svg"]))
    jwt = (await c.get(path(links["jwt"]))).text
    jws = (await c.get(path(links["ob2_jws"]))).text

    assert links["baked_png"] == f"{BASE}/ob/credentials/{badge['id']}/baked.png"
    assert links["baked_svg"] == f"{BASE}/ob/credentials/{badge['id']}/baked.svg"
    assert links["ob2_baked_png"] == f"{BASE}/ob/v2/assertions/{badge['id']}/baked.png"
    assert links["ob2_baked_svg"] == f"{BASE}/ob/v2/assertions/{badge['id']}/baked.svg"
    for response, media in ((png, "image/png"), (svg, "image/svg+xml"), (ob2_png, "image/png")):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == media
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["content-disposition"].startswith('attachment; filename="formative-assessment-tier-1-')
        assert "no-transform" in response.headers["cache-control"]
    assert png.headers["content-disposition"].endswith('.png"')
    assert ob2_svg.headers["content-disposition"].endswith('-ob2.svg"')
    assert "default-src 'none'" in svg.headers["content-security-policy"]
    assert json.loads(baking.unbake(png.content).text) == badge["credential"]
    assert json.loads(baking.unbake(svg.content).text) == badge["credential"]
    assert baking.unbake(png_jwt.content) == baking.Baked("ob3", jwt, "PNG iTXt chunk 'openbadgecredential'")
    assert baking.unbake(ob2_png.content) == baking.Baked("ob2", jws, "PNG iTXt chunk 'openbadges'")
    assert baking.unbake(ob2_svg.content) == baking.Baked("ob2", jws, "SVG <openbadges:assertion> element")
    with Image.open(io.BytesIO(png.content)) as image:  # the default SVG's badge, drawn as PNG
        assert image.size == (400, 400)


async def test_baked_images_are_cached_by_etag_and_404_for_what_does_not_exist(badges: Badges, backend: str) -> None:
    badge = await _badge(badges, recipient={"id": "did:example:educator-1"})
    url = path(badge["links"]["baked_png"])
    first = await badges.client.get(url)
    again = await badges.client.get(url, headers={"if-none-match": f'W/"x", {first.headers["etag"]}'})
    jwt = await badges.client.get(url, params={"proof": "jwt"})
    missing = await badges.client.get("/ob/credentials/00000000-0000-4000-8000-000000000000/baked.svg")
    no_ob2 = await badges.client.get(f"/ob/v2/assertions/{badge['id']}/baked.png")

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert jwt.headers["etag"] != first.headers["etag"]
    assert "ob2_baked_png" not in badge["links"], "a DID recipient has no OB 2.0 form"
    for response in (missing, no_ob2):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    assert "no OB 2.0 form" in no_ob2.json()["detail"]


async def test_an_uploaded_png_is_baked_as_is_and_wrapped_for_the_svg(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    drawn = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(drawn, format="PNG")
    # An image that was itself someone's baked badge: its credential must not travel on.
    upload = baking.bake_png(drawn.getvalue(), "ob2", "https://elsewhere.example/assertions/9")
    put = await badges.client.put(
        f"/v1/achievements/{achievement['id']}/image",
        files={"image": ("badge.png", upload, "image/png")},
        headers=badges.as_(),
    )
    assert put.status_code == 200, put.text
    badge = (await badges.issue(achievement["id"])).json()
    png = await badges.client.get(path(badge["links"]["baked_png"]))
    svg = await badges.client.get(path(badge["links"]["ob2_baked_svg"]))

    assert [c.keyword for c in baking.png_chunks(png.content) if c.keyword] == [b"openbadgecredential"]
    assert baking.clean_png(png.content) == drawn.getvalue()
    assert b'width="64" height="48"' in svg.content
    assert b"data:image/png;base64," in svg.content
    assert baking.unbake(svg.content).version == "ob2"


async def test_a_baked_image_uploaded_to_the_verifier_verifies_like_its_json(badges: Badges, backend: str) -> None:
    badge = await _badge(badges)
    links = badge["links"]
    images = {
        "ob3 png": (await badges.client.get(path(links["baked_png"]))).content,
        "ob3 svg": (await badges.client.get(path(links["baked_svg"]))).content,
        "ob3 jwt png": (await badges.client.get(path(links["baked_png"]), params={"proof": "jwt"})).content,
        "ob2 png": (await badges.client.get(path(links["ob2_baked_png"]))).content,
        "ob2 svg": (await badges.client.get(path(links["ob2_baked_svg"]))).content,
    }
    reports = {name: (await _verify_upload(badges, data)).json() for name, data in images.items()}
    matched = (await _verify_upload(badges, images["ob3 png"], recipient="educator@demo.test")).json()
    other = (await _verify_upload(badges, images["ob2 svg"], recipient="someone@else.test")).json()
    await badges.client.post(f"/v1/badges/{badge['id']}/revoke", headers=badges.as_(), json={"reason": "error"})
    after = await badges.client.get(path(links["baked_png"]))
    revoked = (await _verify_upload(badges, after.content)).json()

    assert {name: (r["verified"], r["format"]) for name, r in reports.items()} == {
        "ob3 png": (True, "ob3-jsonld"),
        "ob3 svg": (True, "ob3-jsonld"),
        "ob3 jwt png": (True, "ob3-vc-jwt"),
        "ob2 png": (True, "ob2-jws"),
        "ob2 svg": (True, "ob2-jws"),
    }, reports
    assert reports["ob3 png"]["checks"][0] == {
        "name": "baked",
        "passed": True,
        "message": "one credential, unbaked from the PNG iTXt chunk 'openbadgecredential'",
        "severity": "error",
        "findings": [],
    }
    assert (matched["verified"], matched["recipient_matched"]) == (True, True)
    assert (other["verified"], other["recipient_matched"]) == (False, False)
    # The mismatch is a check of its own, the only one that fails.
    assert [(c["name"], c["message"]) for c in other["checks"] if not c["passed"]] == [
        ("recipient", "the recipient given is not the one the assertion names: its hashed email identity differs")
    ]
    # A revoked badge still bakes (the same signed document); the verifier says revoked.
    assert after.status_code == 200
    assert (revoked["verified"], revoked["status"]) == (False, "revoked")


async def test_a_credential_baked_under_the_other_version_s_keyword_fails_the_baked_check(
    badges: Badges, backend: str
) -> None:
    badge = await _badge(badges)
    png = (await badges.client.get(path(badge["links"]["ob2_baked_png"]))).content
    jwt = (await badges.client.get(path(badge["links"]["jwt"]))).text
    mislabeled = baking.bake_png(png, "ob2", jwt)  # an OB 3.0 VC-JWT under OB 2.0's keyword
    report = (await _verify_upload(badges, mislabeled)).json()
    assert report["verified"] is False
    assert report["checks"][0]["name"] == "baked"
    assert report["checks"][0]["passed"] is False
    assert "is for Open Badges 2.0, but it holds an Open Badges 3.0 credential" in report["checks"][0]["message"]
    assert all(c["passed"] for c in report["checks"][1:]), "the credential itself is fine"


@pytest.fixture
async def small(make_app: AppFactory, keys_dir: Path) -> AsyncIterator[Badges]:
    app = await make_app("badges", verify_upload_max_bytes=4096)
    async with asgi_client(app) as client:
        yield Badges(app=app, client=client, keys_dir=keys_dir)


async def test_bad_uploads_are_refused_with_a_problem_naming_what_is_wrong(small: Badges, backend: str) -> None:
    c = small.client
    plain = Image.new("RGB", (8, 8))
    buffer = io.BytesIO()
    plain.save(buffer, format="PNG")
    plain_png = buffer.getvalue()

    sent = []

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: the limit applies as it streams
        yield b"--x\r\nContent-Disposition: form-data; name=file; filename=a.png\r\n\r\n"
        for _ in range(2000):
            sent.append(1024)
            yield b"\x89PNG" + b"0" * 1020
        yield b"\r\n--x--\r\n"

    answers = {
        "text file": await _verify_upload(small, b"hello, not an image", "notes.txt"),
        "oversize": await _verify_upload(small, b"\x89PNG\r\n\x1a\n" + b"0" * 30_000),
        "oversize, streamed": await c.post(
            "/v1/verify", content=chunked(), headers={"content-type": "multipart/form-data; boundary=x"}
        ),
        "no credential": await _verify_upload(small, buffer.getvalue()),
        "damaged": await _verify_upload(small, buffer.getvalue()[:-5]),
        "no file field": await c.post("/v1/verify", files={"recipient": (None, b"a@b.test")}),
        "unknown field": await c.post("/v1/verify", files={"file": ("a.png", plain_png), "proof": (None, b"x")}),
        "not a credential": await _verify_upload(small, baking.bake_png(buffer.getvalue(), "ob3", "{not json")),
        "wrong media type": await c.post("/v1/verify", content=b"{}", headers={"content-type": "text/plain"}),
        "broken multipart": await c.post(
            "/v1/verify", content=b"garbage", headers={"content-type": "multipart/form-data; boundary=x"}
        ),
        "bad JSON": await c.post("/v1/verify", content=b"{", headers={"content-type": "application/json"}),
    }
    statuses = {name: r.status_code for name, r in answers.items()}

    assert statuses == {
        "text file": 415,
        "oversize": 413,
        "oversize, streamed": 413,
        "no credential": 422,
        "damaged": 422,
        "no file field": 422,
        "unknown field": 422,
        "not a credential": 422,
        "wrong media type": 415,
        "broken multipart": 400,
        "bad JSON": 422,
    }, {name: r.text for name, r in answers.items()}
    for response in answers.values():
        assert response.headers["content-type"] == "application/problem+json"
    assert answers["oversize"].json()["max_bytes"] == 4096
    assert sum(sent) < 64 * 1024, "reading stopped soon after the limit, not at the end of 2 MB"
    assert "neither a PNG nor an SVG" in answers["text file"].json()["detail"]
    assert answers["no credential"].json()["errors"] == [
        {
            "pointer": "/body/file",
            "detail": "the PNG carries no Open Badges credential: "
            "no iTXt chunk with the keyword openbadgecredential or openbadges",
        }
    ]
    assert "truncated" in answers["damaged"].json()["detail"]
    assert answers["no file field"].json()["errors"][0]["pointer"] == "/body/file"
    assert answers["unknown field"].json()["errors"] == [
        {"pointer": "/body/proof", "detail": "not a field of this form"}
    ]
    assert answers["bad JSON"].json()["errors"][0]["pointer"] == "/body"
