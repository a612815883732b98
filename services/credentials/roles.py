"""What a caller is to this service, from its principal: every area asks here.

Who may see which rows is decided in each area's service (one function each), on top of these
two role facts; they live here, not in an area, because every area needs them and an area
holding them would make the others import it (and it them).
"""

from __future__ import annotations

from shared.auth import Principal

COORDINATOR_ROLES = frozenset({"coordinator", "tenant_admin", "platform_admin"})


def is_coordinator(who: Principal) -> bool:
    """A coordinator, an administrator, or an API client trusted to write credentials."""
    if who.kind == "client":
        return "credentials:write" in who.scopes
    return bool(who.roles & COORDINATOR_ROLES)


def sees_tenant_records(who: Principal) -> bool:
    """Coordinators (and trusted API clients) and HR read every educator's records of the tenant."""
    return is_coordinator(who) or bool(who.roles & {"hr"})


def own_records_only(who: Principal) -> str | None:
    """The one educator whose rows (pursuits, ledger entries, awards) a list shows the caller:
    their own subject, or None when they read the whole tenant's."""
    return None if sees_tenant_records(who) else who.subject
