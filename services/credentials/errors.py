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


class CatalogUnavailable(ServiceUnavailable):
    """The catalog could not say whether the catalog ids in the request exist, so nothing was
    kept (``service``: catalog, ``reason``: unreachable, timeout, bad_answer, not_ready,
    not_delegated); the request may be sent again as it is."""

    title = "Catalog unavailable"
    slug = "credentials/catalog-unavailable"
