"""Problems specific to the credentials service's domain (RFC 9457 types under /problems/credentials/)."""

from __future__ import annotations

from shared.problems import Problem, ServiceUnavailable


class CredentialsProblem(Problem):
    """Base of the credentials service's own problems; domain issues add subclasses here."""

    slug = "credentials"


class WrongState(CredentialsProblem):
    """An action the resource's current state does not allow; the problem names the state and
    the actions that are allowed now (``current_state``, ``allowed_actions``)."""

    status = 409
    title = "Not allowed in the current state"
    slug = "credentials/wrong-state"


class AlreadyPursuing(CredentialsProblem):
    """The educator already has an open pursuit of this design (one at a time): the problem
    names it (``pursuit_id``, ``current_state``) so the client continues with it."""

    status = 409
    title = "Already pursuing this design"
    slug = "credentials/already-pursuing"


class AlreadyAwarded(CredentialsProblem):
    """The educator already holds a standing (not revoked) award of this tier: it is never
    awarded twice. The problem names the standing award (``award_id``, ``tier``); nothing was
    written."""

    status = 409
    title = "Tier already awarded"
    slug = "credentials/already-awarded"


class CatalogUnavailable(ServiceUnavailable):
    """The catalog could not say whether the catalog ids in the request exist, so nothing was
    kept (``service``: catalog, ``reason``: unreachable, timeout, bad_answer, not_ready,
    not_delegated); the request may be sent again as it is."""

    title = "Catalog unavailable"
    slug = "credentials/catalog-unavailable"
