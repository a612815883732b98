"""The OpenAPI document tells the truth about the public documents: every media type a ``/ob``
route answers with (JSON-LD, DID, JWK, JWT, JWS, PNG, SVG, HTML) is the one declared for that
status, and none of them claims FastAPI's default ``application/json``."""

from __future__ import annotations

from typing import Any

from tests.services.badges.conftest import Badges

BASE = "http://127.0.0.1:8000"


def _template(document: dict[str, Any], path: str) -> str:
    """The document's path template that a concrete path fills."""
    parts = path.split("/")
    for template in document["paths"]:
        pieces = template.split("/")
        if len(pieces) == len(parts) and all(
            p == q or (p.startswith("{") and p.endswith("}")) for p, q in zip(pieces, parts, strict=True)
        ):
            return str(template)
    raise AssertionError(f"no documented path for {path}")


def _documented(document: dict[str, Any], path: str, status: int) -> set[str]:
    responses = document["paths"][_template(document, path)]["get"]["responses"]
    response = responses.get(str(status), responses["default"])
    return set(response.get("content", {}))


async def test_every_public_document_is_served_as_a_type_its_operation_declares(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    badge = (await badges.issue(achievement["id"])).json()
    revoked = (await badges.issue(achievement["id"])).json()
    answer = await badges.client.post(f"/v1/badges/{revoked['id']}/revoke", json={}, headers=badges.as_())
    assert answer.status_code == 200, answer.text
    document = (await badges.client.get("/openapi.json")).json()
    links = {name: url.removeprefix(BASE) for name, url in badge["links"].items()}
    jose = next(k for k in issuer["keys"] if k["purpose"] == "jose")["verification_method"].removeprefix(BASE)
    requests: list[tuple[str, dict[str, str]]] = [
        (links["credential"], {"accept": "application/vc+ld+json"}),
        (links["credential"], {"accept": "application/ld+json"}),
        (links["credential"], {"accept": "application/jwt"}),
        (links["credential"], {"accept": "text/plain"}),
        (links["credential"], {"accept": "text/html"}),
        ("/ob/credentials/no-such-badge", {"accept": "text/html"}),
        ("/ob/credentials/no-such-badge", {}),
        (links["jwt"], {}),
        (links["jwt"], {"accept": "text/plain"}),
        (links["baked_png"], {}),
        (links["baked_svg"], {}),
        (links["achievement"], {}),
        (links["achievement"], {"accept": "application/vc+ld+json"}),
        (achievement["links"]["image"].removeprefix(BASE), {}),
        (links["issuer"], {}),
        (links["did_document"], {}),
        (links["did_document"], {"accept": "application/did+ld+json"}),
        (f"/ob/issuers/{issuer['id']}/jwks.json", {}),
        (jose, {}),
        (links["revocation_list"], {}),
        (links["page"], {}),
        ("/ob/badges/no-such-badge", {"accept": "text/html"}),
        (links["ob2_assertion"], {}),
        (f"/ob/v2/assertions/{revoked['id']}", {}),
        (links["ob2_jws"], {}),
        (links["ob2_baked_png"], {}),
        (links["ob2_baked_svg"], {}),
        (links["ob2_badgeclass"], {}),
        (links["ob2_issuer"], {}),
        (f"/ob/v2/issuers/{issuer['id']}/revocations", {}),
        (f"/ob/v2/keys/{jose.rsplit('/', 1)[1]}", {}),
    ]
    served: dict[str, tuple[int, str]] = {}
    undeclared: list[str] = []
    for path, headers in requests:
        response = await badges.client.get(path, headers=headers)
        media_type = response.headers["content-type"].split(";")[0].strip()
        served[f"{path} {headers}"] = (response.status_code, media_type)
        if media_type not in _documented(document, path, response.status_code):
            undeclared.append(f"GET {path} {headers} → {response.status_code} {media_type}")
    ob_operations = [item["get"] for template, item in document["paths"].items() if template.startswith("/ob/")]

    assert undeclared == []
    # The answers really are the specific types (and statuses) the document now declares.
    assert {status for status, _ in served.values()} == {200, 404, 410}
    assert {media for _, media in served.values()} >= {
        "application/vc+ld+json",
        "application/ld+json",
        "application/did+ld+json",
        "application/jwk-set+json",
        "application/jwk+json",
        "application/jwt",
        "text/plain",
        "text/html",
        "image/png",
        "image/svg+xml",
        "application/problem+json",
    }
    assert all("application/json" not in op["responses"]["200"].get("content", {}) for op in ob_operations)
