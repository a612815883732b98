"""Problems specific to the catalog service's domain (RFC 9457 types under /problems/catalog/)."""

from __future__ import annotations

from shared.problems import Problem


class CatalogProblem(Problem):
    """Base of the catalog service's own problems; domain issues add subclasses here."""

    slug = "catalog"
