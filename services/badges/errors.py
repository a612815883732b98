"""Problems specific to the badges service's domain (RFC 9457 types under /problems/badges/)."""

from __future__ import annotations

from shared.problems import Problem, UnprocessableContent


class BadgesProblem(Problem):
    """Base of the badges service's own problems."""

    slug = "badges"


class IdempotencyMismatch(UnprocessableContent):
    """The Idempotency-Key was used before with a different request body."""

    title = "Idempotency key reused with a different request"
    slug = "badges/idempotency-mismatch"


class NotRepresentable(UnprocessableContent):
    """Text or structure a credential cannot carry so that every verifier accepts it."""

    title = "Content cannot be represented in a verifiable credential"
    slug = "badges/not-representable"


class StatusTransition(BadgesProblem):
    """A revoke/suspend/reinstate that the badge's current status does not allow."""

    status = 409
    title = "Status change not allowed"
    slug = "badges/status-transition"


class UnsupportedImage(BadgesProblem):
    status = 415
    title = "Unsupported image"
    slug = "badges/unsupported-image"


class NoSigningKey(BadgesProblem):
    """The issuer has no active key for a proof format (all revoked): rotate one in first."""

    status = 409
    title = "No active signing key"
    slug = "badges/no-signing-key"
