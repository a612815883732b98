"""Fetching a URL someone else gave us, without becoming their tool (SSRF guard).

http(s) only; the host must resolve to public addresses only, unless the caller allows private
ones (tests, on-premises deployments); no redirects; a size and a time limit. The address the
connection actually reached is checked again before the answer is read, which closes the DNS
rebinding window for the answer — though not for the request line itself (a known limit: an
egress proxy is the complete answer, see the badges ADR).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx


class FetchRefused(ValueError):
    """The URL may not be fetched, or the answer broke a limit; the message says which."""


class AnswerTooLarge(FetchRefused):
    """The answer went past ``max_bytes``; reading stopped there."""


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    content_type: str
    body: bytes


async def _resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise FetchRefused(f"the host {host!r} does not resolve") from exc
    return [str(info[4][0]) for info in infos]


async def check_url(url: str, *, allow_private: bool) -> str:
    """The address to connect to for ``url``, or ``FetchRefused``."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise FetchRefused("only http(s) URLs can be fetched")
    try:
        parts.hostname.encode("idna")
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except (UnicodeError, ValueError) as exc:
        raise FetchRefused("the URL's host or port is not valid") from exc
    addresses = await _resolve(parts.hostname, port)
    if not allow_private:
        for address in addresses:
            if not ipaddress.ip_address(address.split("%", 1)[0]).is_global:
                raise FetchRefused("the URL points at a private, loopback or reserved address")
    return addresses[0]


async def fetch(
    url: str, *, allow_private: bool, max_bytes: int, timeout_s: float, accept: str = "application/json"
) -> Fetched:
    """GET ``url`` within the limits; any status is returned (the caller decides what it means)."""
    await check_url(url, allow_private=allow_private)
    body = bytearray()
    try:
        async with (
            httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client,
            client.stream("GET", url, headers={"accept": accept}) as response,
        ):
            peer = _peer_address(response)
            if not allow_private and peer is not None and not ipaddress.ip_address(peer).is_global:
                raise FetchRefused("the host resolved to a private address while connecting")
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise AnswerTooLarge(f"the answer is larger than {max_bytes} bytes")
            return Fetched(url, response.status_code, response.headers.get("content-type", ""), bytes(body))
    except httpx.TimeoutException as exc:
        raise FetchRefused(f"no answer within {timeout_s:g} s") from exc
    except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:
        raise FetchRefused(f"the fetch failed: {type(exc).__name__}") from exc


def _peer_address(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    peer = stream.get_extra_info("server_addr")
    return str(peer[0]) if peer else None
