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


class UnsupportedMediaType(BadgesProblem):
    """A request body in a media type the operation does not take."""

    status = 415
    title = "Unsupported media type"
    slug = "badges/unsupported-media-type"


class NoSigningKey(BadgesProblem):
    """The issuer has no active key for a proof format (all revoked): rotate one in first."""

    status = 409
    title = "No active signing key"
    slug = "badges/no-signing-key"


class DuplicateExternalId(UnprocessableContent):
    """A bulk row whose external id an earlier row of the same file already has."""

    title = "External id given twice"
    slug = "badges/duplicate-external-id"


class BulkFileRefused(UnprocessableContent):
    """A bulk file whose shape is wrong as a whole (no job is made): not CSV or JSON rows,
    missing or unknown columns, no rows or too many."""

    title = "Bulk file refused"
    slug = "badges/bulk-file-refused"


class BulkRowAbandoned(BadgesProblem):
    """A bulk row whose every claim ended without an outcome: the worker stopped each time."""

    status = 500
    title = "Row abandoned"
    slug = "badges/bulk-row-abandoned"
