"""Problems specific to the badges service's domain (RFC 9457 types under /problems/badges/)."""

from __future__ import annotations

from shared.problems import Problem


class BadgesProblem(Problem):
    """Base of the badges service's own problems; domain issues add subclasses here."""

    slug = "badges"
