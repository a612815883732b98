"""Identity inside the services and through the gateway: protected by default, verified once."""

from __future__ import annotations

import re
import time
from importlib import import_module
from pathlib import Path

import httpx
import jwt
import pytest
from sqlalchemy import select

from services.gateway.deps import gateway_state
from services.gateway.models import AuditEvent
from shared.app import STANDARD_PUBLIC_ROUTES
from shared.auth import IDENTITY_HEADER, INTERNAL_ISSUER, INTERNAL_TYP
from shared.state import ServiceState, state_of
from tests.conftest import AppFactory
from tests.support import DOMAIN_SERVICES, LiveServer, asgi_client, bearer, identity_headers, signing_key, token_service


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)


@pytest.mark.parametrize("service", DOMAIN_SERVICES)
async def test_every_route_but_the_declared_public_ones_needs_a_principal(make_app: AppFactory, service: str) -> None:
    app = await make_app(service)
    declared = STANDARD_PUBLIC_ROUTES | import_module(f"services.{service}.api").PUBLIC_ROUTES
    assert state_of(app, ServiceState).public_routes == declared
    async with asgi_client(app) as client:
        document = (await client.get("/openapi.json")).json()
        protected = 0
        for path, item in document["paths"].items():
            for method in item:
                if (method.upper(), path) in declared:
                    continue
                response = await client.request(method.upper(), concrete(path))
                assert response.status_code == 401, f"{method.upper()} {path} answered {response.status_code}"
                assert response.headers["www-authenticate"].startswith("Bearer")
                assert response.headers["content-type"] == "application/problem+json"
                protected += 1
    assert protected >= 2  # the operator routes, at least: a list that shrank to nothing is a bug


def internal(keys_dir: Path, **overrides: object) -> str:
    now = int(time.time())
    claims = {
        "iss": INTERNAL_ISSUER,
        "aud": "catalog",
        "sub": "user:x",
        "tenant": "t",
        "roles": ["platform_admin"],
        "scopes": [],
        "iat": now,
        "exp": now + 30,
        **overrides,
    }
    key = signing_key(keys_dir)
    return jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.kid, "typ": INTERNAL_TYP})


async def test_services_refuse_internal_tokens_that_are_not_exactly_right(make_app: AppFactory, keys_dir: Path) -> None:
    app = await make_app("catalog")
    now = int(time.time())
    good = internal(keys_dir)
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    cases = {
        "valid": (good, 200),
        "other audience": (internal(keys_dir, aud="badges"), 401),
        "expired": (internal(keys_dir, iat=now - 120, exp=now - 60), 401),
        "lives too long": (internal(keys_dir, exp=now + 3600), 401),
        "foreign issuer": (internal(keys_dir, iss="someone-else"), 401),
        "tampered": (tampered, 401),
        "garbage": ("not-a-jwt", 401),
        "no tenant": (
            jwt.encode(
                {"iss": INTERNAL_ISSUER, "aud": "catalog", "sub": "x", "iat": now, "exp": now + 30},
                signing_key(keys_dir).private,
                algorithm="EdDSA",
                headers={"kid": signing_key(keys_dir).kid, "typ": INTERNAL_TYP},
            ),
            401,
        ),
    }
    async with asgi_client(app) as client:
        results = {
            name: (await client.get("/v1/ops/catalog/outbox", headers={IDENTITY_HEADER: token})).status_code
            for name, (token, _) in cases.items()
        }
        forbidden = await client.get(
            "/v1/ops/catalog/outbox", headers=identity_headers(keys_dir, "catalog", roles=frozenset({"educator"}))
        )
    assert results == {name: status for name, (_, status) in cases.items()}
    assert forbidden.status_code == 403
    assert forbidden.json()["title"] == "Forbidden"


async def test_through_the_gateway(make_app: AppFactory, keys_dir: Path, backend: str) -> None:
    services = {name: await LiveServer(await make_app(name)).start() for name in DOMAIN_SERVICES}
    gateway_app = await make_app("gateway", **{f"{name}_url": server.url for name, server in services.items()})
    gateway = await LiveServer(gateway_app).start()
    tokens = token_service(keys_dir)
    client_token = tokens.issue(
        subject="client:lms", tenant_id="t", kind="client", scopes=frozenset({"catalog:read"}), client_id="lms"
    )
    expired = jwt.encode(
        {"iss": tokens.issuer, "aud": "practicum-api", "sub": "x", "tenant": "t", "iat": 1, "exp": 2},
        tokens.key.private,
        algorithm="EdDSA",
        headers={"kid": tokens.key.kid, "typ": "at+jwt"},
    )
    operator = bearer(keys_dir)
    try:
        async with httpx.AsyncClient(base_url=gateway.url) as client:
            answers = {
                "no token": await client.get("/v1/ops/catalog/outbox"),
                "operator": await client.get("/v1/ops/catalog/outbox", headers=operator),
                "client without role": await client.get(
                    "/v1/ops/badges/outbox", headers={"authorization": f"Bearer {client_token}"}
                ),
                "expired": await client.get("/v1/ops/catalog/outbox", headers={"authorization": f"Bearer {expired}"}),
                "tampered": await client.get(
                    "/v1/ops/catalog/outbox", headers={"authorization": operator["authorization"][:-3] + "xyz"}
                ),
                "not bearer": await client.get(
                    "/v1/ops/catalog/outbox", headers={"authorization": "Basic Zm9vOmJhcg=="}
                ),
                # A client forging what only the gateway may send is ignored: still anonymous.
                "forged identity": await client.get(
                    "/v1/ops/catalog/outbox", headers=identity_headers(keys_dir, "catalog")
                ),
                "internal token as bearer": await client.get(
                    "/v1/ops/catalog/outbox",
                    headers={"authorization": "Bearer " + identity_headers(keys_dir, "catalog")[IDENTITY_HEADER]},
                ),
            }
            for service in DOMAIN_SERVICES:
                assert (await client.get(f"/v1/ops/{service}/outbox", headers=operator)).status_code == 200
            # The same bad token again and again: folded into the first record, not written each time.
            for _ in range(5):
                await client.get("/v1/ops/catalog/outbox", headers={"authorization": f"Bearer {expired}"})
    finally:
        await gateway.stop()
        for server in services.values():
            await server.stop()
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {
        "no token": 401,
        "operator": 200,
        "client without role": 403,
        "expired": 401,
        "tampered": 401,
        "not bearer": 401,
        "forged identity": 401,
        "internal token as bearer": 401,
    }
    for name in ("no token", "expired", "tampered", "forged identity"):
        assert answers[name].headers["www-authenticate"].startswith('Bearer realm="practicum"'), name
        assert answers[name].headers["content-type"] == "application/problem+json", name
    assert answers["expired"].json()["detail"] == "the access token has expired"

    # Every denial is in the audit log, with who (when known), where and why — never the token.
    async with gateway_state(gateway_app).sessionmaker() as session:
        rows = (await session.scalars(select(AuditEvent).order_by(AuditEvent.occurred_at))).all()
    denials = [(r.action, r.actor, r.tenant_id, r.detail.get("service"), r.detail["reason"]) for r in rows]
    assert ("access.forbidden", "client:lms", "t", "badges", "refused by the service") in denials
    assert ("access.unauthenticated", "anonymous", None, "catalog", "refused by the service") in denials
    assert ("access.unauthenticated", "anonymous", None, None, "the access token has expired") in denials
    assert all(r.outcome == "denied" and r.detail["path"].startswith("/v1/ops/") for r in rows)
    # expired, tampered, not-bearer and the internal token share one key (anonymous, same address,
    # 401, no service): one record, the rest folded until the window ends.
    assert [r.detail["reason"] for r in rows if r.detail.get("service") is None] == ["the access token has expired"]
    assert not [r for r in rows if expired in str(r.detail)]


def test_the_log_scanner_finds_what_it_must() -> None:
    from tests.support import secrets_in

    lines = [
        '{"message":"request","path":"/v1/ops/catalog/outbox"}',
        '{"message":"oops","detail":"Bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln"}',
        '{"message":"login","password":"practicum-demo"}',
    ]
    assert secrets_in(lines) == lines[1:]


async def test_client_credentials_end_to_end(make_app: AppFactory, backend: str) -> None:
    """An LMS gets a token at the gateway and is known, by tenant, to every service."""
    from services.gateway.seed import seed_demo

    services = {name: await LiveServer(await make_app(name)).start() for name in DOMAIN_SERVICES}
    gateway_app = await make_app("gateway", **{f"{name}_url": server.url for name, server in services.items()})
    async with gateway_state(gateway_app).sessionmaker() as session:
        demo = await seed_demo(session, hasher=gateway_state(gateway_app).hasher)
        demo_id = demo.id
        await session.commit()
    gateway = await LiveServer(gateway_app).start()
    try:
        async with httpx.AsyncClient(base_url=gateway.url) as client:
            issued = await client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials", "scope": "catalog:read badges:read"},
                auth=("demo-lms", "demo-lms-secret"),
            )
            token = issued.json()["access_token"]
            seen = {
                name: await client.get(f"/v1/ops/{name}/whoami", headers={"authorization": f"Bearer {token}"})
                for name in DOMAIN_SERVICES
            }
            other = (
                await client.post(
                    "/oauth/token", data={"grant_type": "client_credentials"}, auth=("other-lms", "other-lms-secret")
                )
            ).json()["access_token"]
            other_seen = await client.get("/v1/ops/catalog/whoami", headers={"authorization": f"Bearer {other}"})
    finally:
        await gateway.stop()
        for server in services.values():
            await server.stop()
    assert issued.status_code == 200
    for name, response in seen.items():
        assert response.status_code == 200, name
        assert response.json() == {
            "tenant_id": demo_id,
            "subject": "client:demo-lms",
            "kind": "client",
            "roles": [],
            "scopes": ["badges:read", "catalog:read"],
            "email": None,  # an API client is nobody's address
        }
    assert other_seen.json()["tenant_id"] not in ("", demo_id)


def _signed(keys_dir: Path, header: dict[str, object], payload: bytes) -> str:
    """A compact JWS with any header and raw payload, signed with the gateway's real key."""
    import base64
    import json as json_module

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    key = signing_key(keys_dir)
    signing_input = f"{b64(json_module.dumps({'kid': key.kid, **header}).encode())}.{b64(payload)}"
    return f"{signing_input}.{b64(key.private.sign(signing_input.encode()))}"


def test_the_token_check_refuses_every_trick(keys_dir: Path) -> None:
    import json as json_module

    from shared.auth import PublicKeyRing, Unauthorized, verify_internal_token

    now = int(time.time())
    base = {"iss": INTERNAL_ISSUER, "aud": "catalog", "sub": "x", "tenant": "t", "iat": now, "exp": now + 30}
    eddsa = {"alg": "EdDSA", "typ": INTERNAL_TYP}

    def claims(**changes: object) -> bytes:
        return json_module.dumps({**base, **changes}).encode()

    ring = PublicKeyRing(keys_dir)
    good = _signed(keys_dir, eddsa, claims())
    assert verify_internal_token(good, keys=ring, audience="catalog").tenant_id == "t"
    assert (
        verify_internal_token(
            _signed(keys_dir, eddsa, claims(aud=["badges", "catalog"])), keys=ring, audience="catalog"
        ).subject
        == "x"
    )
    tricks = {
        "alg none": _signed(keys_dir, {"alg": "none", "typ": INTERNAL_TYP}, claims()),
        "alg HS256": _signed(keys_dir, {"alg": "HS256", "typ": INTERNAL_TYP}, claims()),
        "exp as text": _signed(keys_dir, eddsa, claims(exp=str(now + 30))),
        "exp as bool": _signed(keys_dir, eddsa, claims(exp=True)),
        "issued in the future": _signed(keys_dir, eddsa, claims(iat=now + 3600, exp=now + 3610)),
        "payload not JSON": _signed(keys_dir, eddsa, b"{not json"),
        "payload a list": _signed(keys_dir, eddsa, b"[1, 2]"),
        "missing tenant": _signed(
            keys_dir, eddsa, json_module.dumps({k: v for k, v in base.items() if k != "tenant"}).encode()
        ),
        "four segments": good + ".x",
        "bad base64": good.replace(".", ".*", 1),
        "signature of another token": good.rsplit(".", 1)[0]
        + "."
        + _signed(keys_dir, eddsa, claims(sub="y")).rsplit(".", 1)[1],
        "not ascii": good + "é",
    }
    refused = {}
    for name, token in tricks.items():
        try:
            verify_internal_token(token, keys=ring, audience="catalog")
        except Unauthorized:
            refused[name] = True
        else:
            refused[name] = False
    assert refused == dict.fromkeys(tricks, True)


def test_internal_tokens_carry_the_persons_email_and_the_services_delegated_to(keys_dir: Path) -> None:
    from pydantic import ValidationError

    from services.gateway.settings import GatewaySettings
    from shared.auth import PublicKeyRing, Unauthorized, verify_internal_token

    tokens = token_service(keys_dir)
    ring = PublicKeyRing(keys_dir)
    person = tokens.verify(
        tokens.issue(subject="user:1", tenant_id="t", kind="user", scopes=frozenset(), email="ana@demo.test")
    )
    machine = tokens.verify(tokens.issue(subject="client:lms", tenant_id="t", kind="client", scopes=frozenset()))
    to_credentials = tokens.internal(person, audience="credentials", request_id="r1", delegates=("catalog",))
    seen_by_credentials = verify_internal_token(to_credentials, keys=ring, audience="credentials")
    seen_by_catalog = verify_internal_token(to_credentials, keys=ring, audience="catalog")

    assert person.email == "ana@demo.test"
    assert seen_by_credentials.email == "ana@demo.test"
    assert seen_by_credentials.audiences == frozenset({"credentials", "catalog"})
    assert seen_by_credentials.token == to_credentials, "what shared.client forwards to the catalog"
    assert seen_by_catalog == seen_by_credentials
    with pytest.raises(Unauthorized):
        verify_internal_token(to_credentials, keys=ring, audience="badges")  # not delegated there
    # Delegation runs one way: the catalog's own token is good for the catalog alone.
    to_catalog = tokens.internal(person, audience="catalog", request_id="r2")
    assert verify_internal_token(to_catalog, keys=ring, audience="catalog").audiences == frozenset({"catalog"})
    with pytest.raises(Unauthorized):
        verify_internal_token(to_catalog, keys=ring, audience="credentials")
    client_seen = verify_internal_token(
        tokens.internal(machine, audience="credentials", request_id=None), keys=ring, audience="credentials"
    )
    assert client_seen.email is None

    # Issue 16: the catalog asks credentials whether a micro-credential offering's design exists.
    assert GatewaySettings().delegations == {"credentials": ["catalog"], "catalog": ["credentials"]}
    for wrong in ({"credentials": ["ledger"]}, {"nowhere": ["catalog"]}, {"catalog": ["catalog"]}):
        with pytest.raises(ValidationError):
            GatewaySettings(delegations=wrong)
