"""Problems specific to the catalog service's domain (RFC 9457 types under /problems/catalog/)."""

from __future__ import annotations

from shared.problems import Problem, ServiceUnavailable


class CatalogProblem(Problem):
    """Base of the catalog service's own problems; domain issues add subclasses here."""

    slug = "catalog"


class PreconditionFailed(CatalogProblem):
    """If-Match named a revision that is no longer current (someone else changed the resource)."""

    status = 412
    title = "Precondition Failed"
    slug = "catalog/precondition-failed"


class WrongState(CatalogProblem):
    """An action the resource's current state does not allow; names the state and what is allowed."""

    status = 409
    title = "Not allowed in the current state"
    slug = "catalog/wrong-state"


class RegistrationClosed(CatalogProblem):
    """Registration for the session is not open (not yet, no longer, or the session is cancelled)."""

    status = 409
    title = "Registration is not open"
    slug = "catalog/registration-closed"


class CredentialsUnavailable(ServiceUnavailable):
    """The credentials service could not say whether the design an offering names exists, so
    nothing was kept (``service``: credentials, ``reason``: unreachable, timeout, bad_answer,
    not_ready, not_delegated); the request may be sent again as it is."""

    title = "Credentials service unavailable"
    slug = "catalog/credentials-unavailable"
