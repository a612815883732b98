"""Canonical N-Quads of a JSON-LD document (RDFC-1.0): the one entry point for proofs.

TEMPORARY: pyld with an offline loader until the exact, fast canonicalizer lands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pyld import jsonld  # type: ignore[import-untyped]

from services.badges.rdfc import CanonicalizationError

_REFERENCE = Path(__file__).parent / "reference"
_MAP = json.loads((_REFERENCE / "contexts.json").read_text())["contexts"]
_DOCS = {url: json.loads((_REFERENCE / path).read_text()) for url, path in _MAP.items()}


def _loader(url: str, options: Any = None) -> dict[str, Any]:
    if url not in _DOCS:
        raise CanonicalizationError(f"context {url} is not bundled")
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url, "document": _DOCS[url]}


def canonize(document: dict[str, Any]) -> str:
    try:
        result: str = jsonld.normalize(
            document,
            {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": _loader, "safe": True},
        )
    except jsonld.JsonLdError as exc:
        raise CanonicalizationError(str(exc)[:300]) from exc
    return result
