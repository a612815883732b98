"""Check Open Badges 2.0 assertions with the IMS/1EdTech validator (openbadges 1.1.2), offline.

Run with the interpreter of the separate validator virtualenv (see setup.sh), never the project's .venv:

    echo '{"hosted_url": "http://127.0.0.1:8766/assertions/1"}' | .venv-ob2/bin/python interop/ob2/validate.py

stdin: one request object or a JSON array of them. Each request has exactly one of
    {"hosted_url": "http://127.0.0.1:PORT/..."}   fetch and validate a hosted assertion
    {"jws": "<compact JWS>"}                       validate a signed assertion
    {"json": {...assertion...}}                    validate assertion JSON (the validator re-fetches its HTTP id)
    {"image": "<base64 of a PNG or SVG>"}          unbake a baked badge (the validator's own bakery) and validate it
and optionally "recipient": "someone@example.org" (or a Profile object such as {"email": [...], "url": ...}),
which adds the validator's check that the assertion was awarded to that recipient.

stdout: a JSON array with one result per request, in order:
    {"valid": bool, "revoked": bool, "errors": [str], "warnings": [str], "report": {...}}

Network: everything this process fetches goes through `requests` (the validator's own fetches, the JSON-LD
document loader it gives pyld, and pyld's default loader, which is replaced here). A transport adapter answers
the JSON-LD context URLs listed in services/badges/openbadges/reference/contexts.json from the bundled files, passes
loopback URLs (127.0.0.0/8, ::1, localhost) to the network, and refuses every other URL. A socket guard refuses
any connection to a non-loopback address that might bypass `requests`.
"""

from __future__ import annotations

import base64
import contextlib
import io
import ipaddress
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict

HERE = Path(__file__).resolve().parent
REFERENCE_DIR = Path(
    os.environ.get("OB2_REFERENCE_DIR", HERE.parent.parent / "services" / "badges" / "openbadges" / "reference")
)
LOOPBACK_TIMEOUT = float(os.environ.get("OB2_HTTP_TIMEOUT", "10"))
TRACE = bool(os.environ.get("OB2_TRACE"))
ACCEPT_JSON = {"Accept": "application/ld+json, application/json"}

# The validator task whose failure means "listed in the issuer's RevocationList" (signed assertions only).
SIGNED_REVOCATION_TASK = "VERIFY_SIGNED_ASSERTION_NOT_REVOKED"


class OfflineError(requests.ConnectionError):
    """A fetch of a URL that is neither a bundled context nor on the loopback interface."""


def _is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _trace(what: str, url: str) -> None:
    if TRACE:
        print(f"ob2 fetch {what}: {url}", file=sys.stderr)


def load_bundled_contexts(reference_dir: Path = REFERENCE_DIR) -> dict[str, bytes]:
    """URL -> bytes of the bundled JSON-LD context, from contexts.json (and its schemas, for completeness)."""
    index = json.loads((reference_dir / "contexts.json").read_text(encoding="utf-8"))
    bundled: dict[str, bytes] = {}
    for section in ("contexts", "schemas"):
        for url, rel in index.get(section, {}).items():
            bundled[url] = (reference_dir / rel).read_bytes()
    return bundled


class BundledOrLoopbackAdapter(BaseAdapter):
    """requests transport: bundled documents for known URLs, the network for loopback, refusal for the rest."""

    def __init__(self, bundled: dict[str, bytes]) -> None:
        super().__init__()
        self.bundled = bundled
        self.network = HTTPAdapter()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = request.url or ""
        key = urldefrag(url)[0]
        if key in self.bundled:
            _trace("bundled", url)
            return self._bundled_response(request, key)
        if _is_loopback_host(urlsplit(url).hostname):
            _trace("loopback", url)
            if kwargs.get("timeout") is None:
                # The validator sets no timeout; a stuck test server must not hang the harness.
                kwargs["timeout"] = LOOPBACK_TIMEOUT
            kwargs["proxies"] = {}  # loopback never goes through an environment proxy
            return self.network.send(request, **kwargs)
        _trace("refused", url)
        raise OfflineError(f"offline validator harness: refusing to fetch {url} (not bundled, not loopback)")

    def _bundled_response(self, request: requests.PreparedRequest, key: str) -> requests.Response:
        response = requests.Response()
        response.status_code = 200
        response.reason = "OK"
        response.url = key
        response.request = request
        response.encoding = "utf-8"
        response.headers = CaseInsensitiveDict({"Content-Type": "application/ld+json"})
        response._content = self.bundled[key]
        return response

    def close(self) -> None:
        self.network.close()


def install_offline_transport(bundled: dict[str, bytes]) -> None:
    """Mount the adapter on every requests.Session made in this process (requests_cache sessions included)."""
    original_init = requests.Session.__init__

    def patched_init(self: requests.Session, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        adapter = BundledOrLoopbackAdapter(bundled)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    requests.Session.__init__ = patched_init  # type: ignore[method-assign]

    original_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else str(address)
            if not _is_loopback_host(host):
                raise OSError(f"offline validator harness: refusing connection to {host}")
        original_connect(self, address)

    socket.socket.connect = guarded_connect  # type: ignore[method-assign]


def _recipient_profile(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return dict(value)
    text = str(value)
    if "@" in text:
        return {"email": text}
    if text.startswith(("http://", "https://")):
        return {"url": text}
    return {"telephone": text}


def _badge_input(request: dict[str, Any]) -> Any:
    given = [k for k in ("hosted_url", "jws", "json", "image") if k in request]
    if len(given) != 1:
        raise ValueError('each request needs exactly one of "hosted_url", "jws", "json", "image"')
    kind = given[0]
    value = request[kind]
    if kind == "image":
        # A baked badge: the validator unbakes a file object itself (openbadges_bakery, PNG or SVG).
        if not isinstance(value, str):
            raise ValueError('"image" must be base64 text')
        image = io.BytesIO(base64.b64decode(value, validate=True))
        image.name = "baked-badge"  # type: ignore[attr-defined]  # the validator names a failed input by it
        return image
    if kind == "json":
        return value if isinstance(value, str) else json.dumps(value)
    if not isinstance(value, str):
        raise ValueError(f'"{kind}" must be a string')
    return value.strip()


def _probe_hosted(url: str) -> dict[str, Any]:
    """What the hosting server answers now; the validator itself never looks at the HTTP status."""
    try:
        response = requests.get(url, headers=ACCEPT_JSON, timeout=LOOPBACK_TIMEOUT)
    except requests.RequestException as exc:
        return {"url": url, "status": None, "error": str(exc)}
    probe: dict[str, Any] = {"url": url, "status": response.status_code}
    probe["content_type"] = response.headers.get("Content-Type")
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("revoked") is True:
        probe["body_revoked"] = True
        if body.get("revocationReason"):
            probe["revocationReason"] = body["revocationReason"]
    return probe


def _summarise(result: dict[str, Any]) -> dict[str, Any]:
    report = result.get("report", {})
    input_info = result.get("input", {})
    graph = result.get("graph", [])
    return {
        "validator_valid": bool(report.get("valid")),
        "errorCount": report.get("errorCount", 0),
        "warningCount": report.get("warningCount", 0),
        "validationSubject": report.get("validationSubject"),
        "openBadgesVersion": report.get("openBadgesVersion"),
        "recipientProfile": report.get("recipientProfile"),
        "input_type": input_info.get("input_type"),
        "graph": [{"id": node.get("id"), "type": node.get("type")} for node in graph],
        "messages": report.get("messages", []),
    }


def check(request: dict[str, Any], verify: Any) -> dict[str, Any]:
    """Validate one request; never raises."""
    try:
        badge_input = _badge_input(request)
        profile = _recipient_profile(request.get("recipient"))
    except (ValueError, TypeError) as exc:  # binascii.Error (bad base64) is a ValueError
        return {"valid": False, "revoked": False, "errors": [f"bad request: {exc}"], "warnings": [], "report": None}

    if isinstance(badge_input, io.BytesIO):
        # The validator's own "no badge data in the file" path fails on Python 3 (it reads e.message);
        # ask its bakery first so the answer names the problem.
        from openbadges_bakery import unbake

        try:
            found = unbake(badge_input)
        except Exception as exc:  # noqa: BLE001 - pypng/minidom errors on a damaged image: report them
            found, problem = None, f"the bakery cannot read the image: {type(exc).__name__}: {exc}"
        else:
            problem = "no Open Badges data (iTXt/tEXt 'openbadges', <openbadges:assertion>) in the image"
        badge_input.seek(0)
        if not found:
            errors = [f"{problem} [harness check]"]
            return {"valid": False, "revoked": False, "errors": errors, "warnings": [], "report": None}

    try:
        # Caching off: each fetch sees what the server answers now (a revoked hosted badge must not come from cache).
        with contextlib.redirect_stdout(sys.stderr):
            result = verify(badge_input, profile, use_cache=False, cache_backend=None)
    except Exception as exc:  # noqa: BLE001 - the validator is old third-party code; report, don't crash the batch
        return {
            "valid": False,
            "revoked": False,
            "errors": [f"validator raised {type(exc).__name__}: {exc}"],
            "warnings": [],
            "report": None,
        }

    summary = _summarise(result)
    messages = summary["messages"]
    errors = [m.get("result", "") for m in messages if m.get("messageLevel") == "ERROR"]
    warnings = [m.get("result", "") for m in messages if m.get("messageLevel") == "WARNING"]
    valid = summary["validator_valid"]
    revocation: dict[str, Any] = {
        "validator": any(m.get("name") == SIGNED_REVOCATION_TASK and not m.get("success") for m in messages)
    }

    # Hosted: revoked means the URL answers 410 Gone. The validator never looks at the HTTP status (it validates
    # whatever JSON comes back), so the harness asks the server itself.
    input_info = result.get("input", {})
    if input_info.get("input_type") == "url" and isinstance(input_info.get("value"), str):
        probe = _probe_hosted(input_info["value"])
        revocation["hosted"] = probe
        status = probe.get("status")
        if status == 410 or probe.get("body_revoked"):
            valid = False
            reason = f" with reason: {probe['revocationReason']}" if probe.get("revocationReason") else ""
            errors.append(f"Hosted assertion {probe['url']} is revoked (HTTP {status}){reason} [harness check]")
        elif status != 200:
            valid = False
            errors.append(f"Hosted assertion {probe['url']} answered HTTP {status} [harness check]")

    # Any assertion whose issuer has a revocationList: the validator checks it only for signed assertions, and
    # misses a list holding exactly one entry (JSON-LD compaction turns the one-element array into a bare
    # object, which it then iterates key by key). The harness reads the list itself.
    listed = _revocation_list_check(result.get("graph", []), summary.get("validationSubject"))
    if listed is not None:
        revocation["revocation_list"] = listed
        if listed.get("listed") and not revocation["validator"]:
            valid = False
            reason = f" with reason: {listed['revocationReason']}" if listed.get("revocationReason") else ""
            errors.append(
                f"Assertion {listed['assertion']} is listed in RevocationList {listed['url']}{reason} [harness check]"
            )

    revoked = bool(
        revocation["validator"]
        or revocation.get("hosted", {}).get("status") == 410
        or revocation.get("hosted", {}).get("body_revoked")
        or revocation.get("revocation_list", {}).get("listed")
    )
    summary["revocation"] = revocation
    return {"valid": valid, "revoked": revoked, "errors": errors, "warnings": warnings, "report": summary}


def _node(graph: list[dict[str, Any]], node_id: Any) -> dict[str, Any] | None:
    if not isinstance(node_id, str):
        return None
    return next((n for n in graph if n.get("id") == node_id), None)


def _revocation_list_check(graph: list[dict[str, Any]], subject: Any) -> dict[str, Any] | None:
    """Is the assertion listed in its issuer's RevocationList? None when there is no list to read."""
    assertion = _node(graph, subject) or next((n for n in graph if n.get("type") == "Assertion"), None)
    if assertion is None:
        return None
    badge = _node(graph, assertion.get("badge"))
    issuer = _node(graph, badge.get("issuer")) if badge else None
    url = issuer.get("revocationList") if issuer else None
    if not isinstance(url, str):
        return None
    check: dict[str, Any] = {"url": url, "assertion": assertion.get("id"), "listed": False}
    try:
        response = requests.get(url, headers=ACCEPT_JSON, timeout=LOOPBACK_TIMEOUT)
        check["status"] = response.status_code
        entries = response.json().get("revokedAssertions", [])
    except (requests.RequestException, ValueError, AttributeError) as exc:
        check["error"] = str(exc)
        return check
    for entry in entries if isinstance(entries, list) else [entries]:
        entry_id = entry.get("id") if isinstance(entry, dict) else entry
        if entry_id == assertion.get("id"):
            check["listed"] = True
            if isinstance(entry, dict) and entry.get("revocationReason"):
                check["revocationReason"] = entry["revocationReason"]
    return check


def main() -> int:
    try:
        payload = json.load(sys.stdin)
    except ValueError as exc:
        print(f"validate.py: stdin is not JSON: {exc}", file=sys.stderr)
        return 2
    requests_in = payload if isinstance(payload, list) else [payload]
    if not all(isinstance(r, dict) for r in requests_in):
        print("validate.py: expected a request object or an array of request objects", file=sys.stderr)
        return 2

    install_offline_transport(load_bundled_contexts())

    # Imported after the transport is installed: openbadges builds requests sessions at import time.
    import logging

    from openbadges import verify
    from openbadges.verifier.utils import CachableDocumentLoader
    from pyld import jsonld

    # pyld's own default loader uses urllib; route its few uses (extension checks) through requests too.
    jsonld.set_document_loader(CachableDocumentLoader(use_cache=False))
    # The validator logs a traceback to stderr (level ERROR) whenever one of its tasks raises, which is routine for
    # bad input (e.g. a 410 body with no "type"); the message is in "errors" either way. OB2_LOG_LEVEL=ERROR shows them.
    logging.getLogger("openbadges.verifier").setLevel(os.environ.get("OB2_LOG_LEVEL", "CRITICAL"))

    results = [check(r, verify) for r in requests_in]
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
