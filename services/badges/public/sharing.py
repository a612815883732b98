"""What a badge's public page shows, and who may change it (docs/decisions/0014-public-badge-pages.md).

The signed credential is fixed at issue; the page is the human view of it. Beyond the achievement,
its issuer and the live status, the page shows the recipient's display name, the rubric results
and the evidence links only when the earner chose to. The earner is the person the credentials
service names in ``award.granted``, or a person whose directory email (vouched for by the
gateway) is the badge's recipient email; issuers (``badges:issue``) may change the choices too,
for earners who are not users here or who asked their district to.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from services.badges.models import Badge
from services.badges.schemas import BadgeSharing, SharingUpdate
from shared.auth import Forbidden, Principal
from shared.problems import FieldError, UnprocessableContent
from shared.tenancy import get_in_tenant

_SWITCHES = ("show_name", "show_results", "show_evidence")
NAME_MAX = 200


def read(badge: Badge) -> BadgeSharing:
    return BadgeSharing(
        show_name=badge.show_name,
        recipient_name=badge.recipient_name,
        show_results=badge.show_results,
        show_evidence=badge.show_evidence,
        earner_id=badge.earner_id,
    )


def may_change(who: Principal, badge: Badge, lookup_digest: Callable[[str], str]) -> bool:
    """The earner, or an issuer of the badge's tenant (the caller's tenant was checked already).

    ``lookup_digest`` is the keyed digest the badge keeps of its recipient's email (the address
    itself is not stored)."""
    if "badges:issue" in who.scopes:
        return True
    if who.kind != "user":
        return False
    if badge.earner_id is not None and who.subject == badge.earner_id:
        return True
    # A person's email comes only from the gateway's directory (never from the client).
    email = getattr(who, "email", None)
    if not isinstance(email, str) or not email.strip() or badge.recipient_lookup is None:
        return False
    return lookup_digest(email.strip().lower()) == badge.recipient_lookup


def display_name(value: str | None) -> str | None:
    """A display name as the page may show it: control characters out, at most ``NAME_MAX``.

    Used for names that arrive in events (an SIS profile can hold anything): refusing one there
    would stop the badge being issued, so it is cleaned instead. Names sent to the API are
    refused with a 422 instead (``update``)."""
    if value is None:
        return None
    cleaned = " ".join("".join(c if c.isprintable() else " " for c in value).split())[:NAME_MAX].strip()
    return cleaned or None


async def update(
    session: AsyncSession, who: Principal, badge_id: str, body: SharingUpdate, *, lookup_digest: Callable[[str], str]
) -> Badge:
    """Apply the choices given; checked whole before anything changes."""
    badge = await get_in_tenant(session, Badge, badge_id, who.tenant_id, noun="badge")
    if not may_change(who, badge, lookup_digest):
        raise Forbidden("only the badge's earner, or an issuer (badges:issue), may change what its page shows")
    given = body.model_fields_set
    errors = [
        FieldError(pointer=f"/body/{name}", detail="true or false; may not be null")
        for name in _SWITCHES
        if name in given and getattr(body, name) is None
    ]
    name = body.recipient_name if "recipient_name" in given else badge.recipient_name
    if "recipient_name" in given and name is not None and not name.isprintable():
        errors.append(FieldError(pointer="/body/recipient_name", detail="no control or invisible characters"))
    chosen = {switch: getattr(body, switch) if switch in given else getattr(badge, switch) for switch in _SWITCHES}
    if chosen["show_name"] and not name:
        errors.append(FieldError(pointer="/body/recipient_name", detail="give the name to show with show_name"))
    if errors:
        raise UnprocessableContent("the sharing choices cannot be applied", errors=errors)
    badge.recipient_name = name
    for switch, value in chosen.items():
        setattr(badge, switch, value)
    await session.flush()
    return badge
