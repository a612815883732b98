"""The credential design a micro-credential offering leads to, checked with the credentials
service before it is kept (issue 16; docs/decisions/0013-service-to-service-calls.md).

The credentials service is the source of truth for designs: before a ``micro_credential``
offering keeps a ``credential_design_id`` it is asked — as the caller, with the caller's own
internal token, so another district's design is unknown exactly like one that never existed —
and a design that does not exist, was never published or is retired is a 422 pointing at it.
When the credentials service cannot answer, nothing is kept: a 503 names it, and the same
request can simply be sent again. Offerings of other types, and offerings naming no design,
never depend on it, and no read ever does.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from services.catalog.errors import CredentialsUnavailable
from services.credentials.client import CredentialsClient
from services.credentials.schemas import DESIGN_ID_PATTERN
from shared.auth import Principal
from shared.client import checked_with
from shared.problems import FieldError, UnprocessableContent

# Seconds a client is asked to wait before sending the same request again.
RETRY_AFTER_S = 5
_DESIGN_ID = re.compile(DESIGN_ID_PATTERN)

# What the API gives the offering rules: the credentials service's word on a design id.
DesignCheck = Callable[[str], Awaitable[None]]


def credentials_check(credentials: CredentialsClient, who: Principal) -> DesignCheck:
    """The credentials service's word on an offering's design, asked as the caller."""

    async def check(design_id: str) -> None:
        await check_design(credentials, who, design_id)

    return check


async def check_design(
    credentials: CredentialsClient, who: Principal, design_id: str, *, pointer: str = "/body/credential_design_id"
) -> None:
    """``design_id`` names a published, not retired design of the caller's district (422 otherwise)."""
    design = None
    if _DESIGN_ID.fullmatch(design_id):
        # The caller may write the catalog but not read credentials: naming a design takes both.
        with checked_with(
            callee="the credentials service",
            service="credentials",
            what="the credential design",
            forbidden="the credential design is a credentials id, and the credentials service refused",
            unavailable=CredentialsUnavailable,
            retry_after_s=RETRY_AFTER_S,
        ):
            found = await credentials.design_references(who, [design_id])
        design = next((d for d in found.designs if d.id == design_id), None)
    if design is None:
        detail = f"no credential design {design_id} in this district"
    elif design.published_version is None:
        detail = "the credential design is not published: a micro-credential offering leads to a published design"
    elif design.retired:
        detail = "the credential design is retired: no new pursuits start from it"
    else:
        return
    raise UnprocessableContent(detail, errors=[FieldError(pointer=pointer, detail=detail)])
