"""One OpenAPI 3.1 document for the whole API, as a client sees it through the gateway.

Each service publishes its own document; the gateway keeps the paths its route table sends to
that service, plus its own public paths. Component schemas that two services define
differently are namespaced ``<service>.<Name>`` and every ``$ref`` is rewritten; only schemas a
kept path reaches are included, so internal shapes do not leak into the public contract.

A service documents its protected operations as taking the gateway's internal token; through
the gateway, a client authenticates with an OAuth 2.0 access token instead, so those operations
require the gateway's schemes (``SECURITY_SCHEMES``) and the public ones require none.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from services.gateway.proxy.proxy import RouteTable
from shared.auth import SCOPES

REF_PREFIX = "#/components/schemas/"
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})

# How a client authenticates through the gateway: an access token from the token endpoint
# (client credentials), or one it already holds (a person's, from /v1/auth/login) as a bearer.
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "oauth2": {
        "type": "oauth2",
        "description": "OAuth 2.0 client credentials (client_secret_basic or client_secret_post)",
        "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": dict(SCOPES)}},
    },
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from /oauth/token or /v1/auth/login",
    },
}
GATEWAY_SECURITY: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith(REF_PREFIX):
                found.add(ref[len(REF_PREFIX) :])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _rewrite(node: Any, rename: Callable[[str], str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(REF_PREFIX):
                out[key] = REF_PREFIX + rename(value[len(REF_PREFIX) :])
            else:
                out[key] = _rewrite(value, rename)
        return out
    if isinstance(node, list):
        return [_rewrite(item, rename) for item in node]
    return node


def _namespaced(docs: Mapping[str, dict[str, Any]]) -> dict[str, set[str]]:
    """Per service, the schema names that must be namespaced because another service differs."""
    first_seen: dict[str, tuple[str, Any]] = {}
    renamed: dict[str, set[str]] = {service: set() for service in docs}
    for service, doc in docs.items():
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            if name not in first_seen:
                first_seen[name] = (service, schema)
            elif first_seen[name][1] != schema:
                renamed[service].add(name)
    # A schema that refers to a namespaced one is no longer the same schema either.
    changed = True
    while changed:
        changed = False
        for service, doc in docs.items():
            for name, schema in doc.get("components", {}).get("schemas", {}).items():
                if name in renamed[service] or first_seen[name][0] == service:
                    continue
                if _refs(schema) & renamed[service]:
                    renamed[service].add(name)
                    changed = True
    return renamed


def combine(
    *,
    gateway_doc: dict[str, Any],
    service_docs: Mapping[str, dict[str, Any]],
    routes: RouteTable,
    unavailable: list[str],
) -> dict[str, Any]:
    docs = {"gateway": gateway_doc, **service_docs}
    renamed = _namespaced(docs)
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    operation_ids: set[str] = set()
    for service, doc in docs.items():

        def rename(name: str, service: str = service) -> str:
            return f"{service}.{name}" if name in renamed[service] else name

        own_schemas = doc.get("components", {}).get("schemas", {})
        kept_refs: set[str] = set()
        for path, item in doc.get("paths", {}).items():
            if service != "gateway" and not routes.owns(service, path):
                continue
            item = copy.deepcopy(item)
            for method, operation in item.items():
                if method not in HTTP_METHODS:
                    continue
                operation["tags"] = [service, *[t for t in operation.get("tags", []) if t != service]]
                if service != "gateway" and operation.pop("security", None):
                    operation["security"] = GATEWAY_SECURITY
                op_id = operation.get("operationId")
                if op_id and op_id in operation_ids:
                    operation["operationId"] = f"{service}_{op_id}"
                operation_ids.add(operation.get("operationId", ""))
            kept_refs |= _refs(item)
            paths[path] = _rewrite(item, rename)
        # Pull in every schema the kept paths reach, transitively.
        pending = list(kept_refs)
        while pending:
            name = pending.pop()
            target = rename(name)
            if target in schemas or name not in own_schemas:
                continue
            schemas[target] = _rewrite(own_schemas[name], rename)
            pending.extend(_refs(own_schemas[name]))
    combined: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Practicum API",
            "version": gateway_doc.get("info", {}).get("version", "0"),
            "description": (
                "Competency-based professional learning with verifiable micro-credentials. "
                "One API through the gateway; each path is served by the service named in its tag."
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items())), "securitySchemes": SECURITY_SCHEMES},
        "tags": [{"name": name} for name in docs],
    }
    if unavailable:
        combined["x-practicum-unavailable-services"] = sorted(unavailable)
    return combined
