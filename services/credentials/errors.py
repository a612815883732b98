"""Problems specific to the credentials service's domain (RFC 9457 types under /problems/credentials/)."""

from __future__ import annotations

from shared.problems import Problem


class CredentialsProblem(Problem):
    """Base of the credentials service's own problems; domain issues add subclasses here."""

    slug = "credentials"
