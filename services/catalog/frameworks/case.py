"""1EdTech CASE 1.0/1.1 packages: check a CFPackage completely before anything is stored.

Every problem is collected with a JSON pointer into the request (``/body/CFItems/3/uri``), so a
district sees all that is wrong with a package at once. The tree comes from ``isChildOf``
associations: origin is the child, destination the parent (an item, or the document itself).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from shared.problems import FieldError

ASSOCIATION_TYPES = frozenset(
    {
        "isChildOf",
        "isPeerOf",
        "isPartOf",
        "exactMatchOf",
        "precedes",
        "isRelatedTo",
        "replacedBy",
        "exemplar",
        "hasSkillLevel",
        "isTranslationOf",
    }
)
MAX_ITEMS = 20_000
MAX_ASSOCIATIONS = 60_000


@dataclass
class Package:
    """A checked package: the CFDocument, items and associations by identifier, and the tree."""

    document: dict[str, Any]
    items: dict[str, dict[str, Any]]
    associations: dict[str, dict[str, Any]]
    definitions: dict[str, Any] | None
    parent: dict[str, str | None] = field(default_factory=dict)  # item identifier → parent item (None: top)
    position: dict[str, int | None] = field(default_factory=dict)

    @property
    def identifier(self) -> str:
        return str(self.document["identifier"]).lower()


class PackageErrors(ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the CASE package")
        self.errors = errors


def _guid(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value))) if isinstance(value, str) else None
    except ValueError:
        return None


def _datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and len(value.strip()) > 0 and len(value) <= limit and "\x00" not in value


class _Checker:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def error(self, pointer: str, detail: str) -> None:
        if len(self.errors) < 200:  # enough to act on; a broken export must not flood the answer
            self.errors.append(FieldError(pointer=pointer, detail=detail))

    def node(self, obj: Any, pointer: str, required: dict[str, int]) -> str | None:
        """Check a CF object's common fields; its normalized identifier, if valid."""
        if not isinstance(obj, dict):
            self.error(pointer, "must be an object")
            return None
        identifier = _guid(obj.get("identifier"))
        if identifier is None:
            self.error(f"{pointer}/identifier", "must be a UUID")
        if not _text(obj.get("uri"), 1000) or not str(obj.get("uri")).startswith(("http://", "https://", "urn:")):
            self.error(f"{pointer}/uri", "must be an absolute URI")
        if not _datetime(obj.get("lastChangeDateTime")):
            self.error(f"{pointer}/lastChangeDateTime", "must be an ISO 8601 date-time")
        for name, limit in required.items():
            if not _text(obj.get(name), limit):
                self.error(f"{pointer}/{name}", f"required text of at most {limit} characters")
        return identifier

    def link(self, obj: Any, pointer: str) -> str | None:
        """A LinkURI (``{title, identifier, uri}``); its identifier."""
        if not isinstance(obj, dict):
            self.error(pointer, "must be an object with identifier and uri")
            return None
        identifier = _guid(obj.get("identifier"))
        if identifier is None:
            self.error(f"{pointer}/identifier", "must be a UUID")
        if not _text(obj.get("uri"), 1000):
            self.error(f"{pointer}/uri", "required")
        return identifier


def parse(body: Any) -> Package:
    """The checked package, or ``PackageErrors`` listing everything wrong with it."""
    check = _Checker()
    if isinstance(body, dict) and isinstance(body.get("CFPackage"), dict):
        body = body["CFPackage"]  # some tools wrap the package
    if not isinstance(body, dict):
        raise PackageErrors([FieldError(pointer="/body", detail="a CFPackage is a JSON object")])
    document = body.get("CFDocument")
    doc_id = check.node(document, "/body/CFDocument", {"title": 500, "creator": 500})
    items_in = body.get("CFItems", [])
    associations_in = body.get("CFAssociations", [])
    if not isinstance(items_in, list) or len(items_in) > MAX_ITEMS:
        check.error("/body/CFItems", f"must be an array of at most {MAX_ITEMS} items")
        items_in = []
    if not isinstance(associations_in, list) or len(associations_in) > MAX_ASSOCIATIONS:
        check.error("/body/CFAssociations", f"must be an array of at most {MAX_ASSOCIATIONS} associations")
        associations_in = []
    definitions = body.get("CFDefinitions")
    if definitions is not None and not isinstance(definitions, dict):
        check.error("/body/CFDefinitions", "must be an object")
        definitions = None

    items: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(items_in):
        pointer = f"/body/CFItems/{i}"
        identifier = check.node(item, pointer, {"fullStatement": 20_000})
        if isinstance(item, dict):
            for name, limit in (("humanCodingScheme", 100), ("CFItemType", 100)):
                if name in item and not _text(item[name], limit):
                    check.error(f"{pointer}/{name}", f"text of at most {limit} characters")
        if identifier is None:
            continue
        if identifier in items or identifier == doc_id:
            check.error(f"{pointer}/identifier", "the same identifier appears twice in the package")
            continue
        items[identifier] = {**item, "identifier": identifier}

    associations: dict[str, dict[str, Any]] = {}
    parent: dict[str, str | None] = {}
    position: dict[str, int | None] = {}
    for i, association in enumerate(associations_in):
        pointer = f"/body/CFAssociations/{i}"
        identifier = check.node(association, pointer, {})
        if not isinstance(association, dict):
            continue
        kind = association.get("associationType")
        if not isinstance(kind, str) or not (kind in ASSOCIATION_TYPES or kind.startswith("ext:")):
            check.error(f"{pointer}/associationType", f"must be one of {sorted(ASSOCIATION_TYPES)} or ext:…")
        origin = check.link(association.get("originNodeURI"), f"{pointer}/originNodeURI")
        destination = check.link(association.get("destinationNodeURI"), f"{pointer}/destinationNodeURI")
        sequence = association.get("sequenceNumber")
        if sequence is not None and (not isinstance(sequence, int) or isinstance(sequence, bool)):
            check.error(f"{pointer}/sequenceNumber", "must be an integer")
            sequence = None
        if identifier is None or origin is None or destination is None:
            continue
        if identifier in associations:
            check.error(f"{pointer}/identifier", "the same identifier appears twice in the package")
            continue
        associations[identifier] = {**association, "identifier": identifier}
        if kind == "isChildOf":
            if origin not in items:
                check.error(f"{pointer}/originNodeURI/identifier", "isChildOf must start at an item of this package")
            elif destination != doc_id and destination not in items:
                check.error(
                    f"{pointer}/destinationNodeURI/identifier",
                    "the parent is neither the document nor one of its items",
                )
            elif origin in parent:
                check.error(f"{pointer}/originNodeURI/identifier", "this item already has a parent")
            else:
                parent[origin] = None if destination == doc_id else destination
                position[origin] = sequence

    for start in parent:
        seen = {start}
        node = parent.get(start)
        while node is not None:
            if node in seen:
                check.error("/body/CFAssociations", f"isChildOf forms a cycle through item {start}")
                break
            seen.add(node)
            node = parent.get(node)
    if check.errors:
        raise PackageErrors(check.errors)
    assert isinstance(document, dict)
    assert doc_id is not None
    return Package(
        document={**document, "identifier": doc_id},
        items=items,
        associations=associations,
        definitions=definitions,
        parent=parent,
        position=position,
    )
