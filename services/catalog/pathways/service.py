"""Pathways: named structures of offerings (and other pathways) leading to a credential.

A pathway's ``structure`` is an ordered list of steps; each step is a group (``all_of`` or
``n_of``) of offerings, other pathways and nested groups. The shape of a structure is checked
where it is parsed (``schemas.check_pathway_structure``); this module checks what needs the
database: every referenced offering and pathway exists in the tenant, pathways never contain
themselves (directly or through others), and chains of nested pathways stay short. It also
evaluates an educator's progress along a pathway.

Offerings are referenced by id only (no foreign key): the check happens when a pathway is
written, so an offering removed later reads as not completed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Offering, Pathway
from services.catalog.schemas import (
    PATHWAY_MAX_DEPTH,
    PathwayGroup,
    PathwayGroupProgress,
    PathwayNestedProgress,
    PathwayNestedRef,
    PathwayOfferingProgress,
    PathwayOfferingRef,
    PathwayProgress,
    PathwayStructure,
    PathwayWrite,
)
from shared.db import utcnow
from shared.problems import Conflict, FieldError, UnprocessableContent
from shared.tenancy import get_in_tenant, in_tenant

STRUCTURE_POINTER = "/body/structure"


# --- references -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """An offering or pathway named in a structure, and the JSON pointer of its id."""

    key: str  # "offering_id" | "pathway_id"
    id: str
    pointer: str


def references(structure: PathwayStructure) -> Iterator[Reference]:
    """Every reference in the structure, in document order."""

    def walk(group: PathwayGroup, pointer: str) -> Iterator[Reference]:
        for index, element in enumerate(group.elements):
            where = f"{pointer}/elements/{index}"
            if isinstance(element, PathwayOfferingRef):
                yield Reference("offering_id", element.offering_id, f"{where}/offering_id")
            elif isinstance(element, PathwayNestedRef):
                yield Reference("pathway_id", element.pathway_id, f"{where}/pathway_id")
            else:
                yield from walk(element, where)

    for index, step in enumerate(structure.steps):
        yield from walk(step, f"{STRUCTURE_POINTER}/steps/{index}")


def _distinct(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


async def offerings_exist(session: AsyncSession, *, tenant_id: str, ids: Iterable[str]) -> set[str]:
    """Those of ``ids`` that are offerings of this tenant (in any status)."""
    wanted = _distinct(ids)
    if not wanted:
        return set()
    found = await session.scalars(in_tenant(select(Offering.id), Offering, tenant_id).where(Offering.id.in_(wanted)))
    return set(found)


@dataclass
class _Graph:
    """The tenant's pathways as a graph: id → ids of the pathways its structure names."""

    names: dict[str, str] = field(default_factory=dict)
    edges: dict[str, list[str]] = field(default_factory=dict)

    def path(self, start: str, goal: str) -> list[str] | None:
        """A chain of references from ``start`` to ``goal`` (both included), if there is one."""
        parents: dict[str, str | None] = {start: None}
        stack = [start]
        while stack:
            node = stack.pop()
            if node == goal:
                chain = [node]
                while (parent := parents[chain[-1]]) is not None:
                    chain.append(parent)
                return chain[::-1]
            for child in self.edges.get(node, ()):
                if child not in parents:
                    parents[child] = node
                    stack.append(child)
        return None

    def deepest_chain(self, start: str) -> list[str]:
        """The longest chain of nested pathways from ``start`` (the graph has no cycle)."""
        memo: dict[str, list[str]] = {}

        def chain(node: str, seen: frozenset[str]) -> list[str]:
            if node not in memo:
                children = [c for c in self.edges.get(node, ()) if c not in seen]
                longest = max((chain(c, seen | {node}) for c in children), key=len, default=[])
                memo[node] = [node, *longest]
            return memo[node]

        return chain(start, frozenset())

    def reversed(self) -> _Graph:
        """The same pathways, each pointing at the pathways that contain it."""
        containing: dict[str, list[str]] = {}
        for parent, children in self.edges.items():
            for child in children:
                containing.setdefault(child, []).append(parent)
        return _Graph(names=self.names, edges=containing)

    def label(self, pathway_id: str) -> str:
        return f'"{self.names.get(pathway_id, "this pathway")}" ({pathway_id})'


async def _graph(session: AsyncSession, tenant_id: str) -> _Graph:
    rows = await session.execute(
        select(Pathway.id, Pathway.name, Pathway.pathway_ids).where(Pathway.tenant_id == tenant_id)
    )
    graph = _Graph()
    for pathway_id, name, nested in rows:
        graph.names[pathway_id] = name
        graph.edges[pathway_id] = list(nested)
    return graph


async def _serialize_writes(session: AsyncSession, tenant_id: str) -> None:
    """One writer of a tenant's pathways at a time, so that two concurrent changes cannot each
    pass the cycle check and together make a cycle (or delete a pathway being referenced).
    SQLite serializes writers by itself."""
    if session.get_bind().dialect.name == "postgresql":
        key = func.hashtext(f"catalog.pathways:{tenant_id}")
        await session.execute(select(func.pg_advisory_xact_lock(key)))


async def _check_references(
    session: AsyncSession, *, tenant_id: str, pathway_id: str, name: str, structure: PathwayStructure
) -> None:
    """422 listing every reference that does not resolve in the tenant, or would make a cycle or
    too deep a chain of nested pathways. ``pathway_id`` is the pathway being written."""
    refs = list(references(structure))
    errors: list[FieldError] = []
    offering_ids = {r.id for r in refs if r.key == "offering_id"}
    found = await offerings_exist(session, tenant_id=tenant_id, ids=offering_ids)
    graph = await _graph(session, tenant_id)
    graph.names[pathway_id] = name
    nested = _distinct(r.id for r in refs if r.key == "pathway_id")
    graph.edges[pathway_id] = nested
    reported_cycle: set[str] = set()
    for ref in refs:
        if ref.key == "offering_id":
            if ref.id not in found:
                errors.append(FieldError(pointer=ref.pointer, detail=f"no offering {ref.id} in this catalog"))
        elif ref.id == pathway_id:
            errors.append(FieldError(pointer=ref.pointer, detail="a pathway cannot contain itself"))
        elif ref.id not in graph.names:
            errors.append(FieldError(pointer=ref.pointer, detail=f"no pathway {ref.id} in this catalog"))
        elif ref.id not in reported_cycle and (chain := graph.path(ref.id, pathway_id)) is not None:
            reported_cycle.add(ref.id)
            cycle = " → ".join(graph.label(p) for p in [pathway_id, *chain])
            errors.append(
                FieldError(
                    pointer=ref.pointer, detail=f"this would make a cycle: {cycle}; a pathway cannot contain itself"
                )
            )
    if not errors:
        # No cycle: the longest chain of nested pathways through this one is the longest chain of
        # pathways containing it followed by the longest chain it contains.
        above = graph.reversed().deepest_chain(pathway_id)
        chain = [*above[::-1], *graph.deepest_chain(pathway_id)[1:]]
        if len(chain) > PATHWAY_MAX_DEPTH:
            shown = " → ".join(graph.label(p) for p in chain)
            errors.append(
                FieldError(
                    pointer=STRUCTURE_POINTER,
                    detail=f"pathways nest at most {PATHWAY_MAX_DEPTH} deep; this would make {len(chain)}: {shown}",
                )
            )
    if errors:
        count = len(errors)
        raise UnprocessableContent(
            f"the pathway's structure has {count} problem{'s' if count != 1 else ''}; nothing was saved",
            errors=errors,
        )


# --- writing ----------------------------------------------------------------------------------


def _apply(pathway: Pathway, data: PathwayWrite) -> None:
    refs = list(references(data.structure))
    pathway.name = data.name
    pathway.description = data.description
    pathway.credential_design_id = data.credential_design_id
    pathway.status = data.status
    pathway.structure = data.structure.model_dump(mode="json")
    pathway.offering_ids = _distinct(r.id for r in refs if r.key == "offering_id")
    pathway.pathway_ids = _distinct(r.id for r in refs if r.key == "pathway_id")
    pathway.updated_at = utcnow()


async def create_pathway(session: AsyncSession, *, tenant_id: str, data: PathwayWrite) -> Pathway:
    await _serialize_writes(session, tenant_id)
    pathway_id = str(uuid.uuid4())
    await _check_references(
        session, tenant_id=tenant_id, pathway_id=pathway_id, name=data.name, structure=data.structure
    )
    pathway = Pathway(id=pathway_id, tenant_id=tenant_id, created_at=utcnow())
    _apply(pathway, data)
    session.add(pathway)
    await session.flush()
    return pathway


async def replace_pathway(session: AsyncSession, *, tenant_id: str, pathway_id: str, data: PathwayWrite) -> Pathway:
    """The whole pathway is replaced and checked again; 404 when it is not the tenant's."""
    await _serialize_writes(session, tenant_id)
    pathway = await get_in_tenant(session, Pathway, pathway_id, tenant_id, noun="pathway")
    await _check_references(
        session, tenant_id=tenant_id, pathway_id=pathway.id, name=data.name, structure=data.structure
    )
    _apply(pathway, data)
    await session.flush()
    return pathway


async def delete_pathway(session: AsyncSession, *, tenant_id: str, pathway_id: str) -> None:
    """409 while another pathway contains this one; 404 when it is not the tenant's."""
    await _serialize_writes(session, tenant_id)
    pathway = await get_in_tenant(session, Pathway, pathway_id, tenant_id, noun="pathway")
    graph = await _graph(session, tenant_id)
    containing = sorted(p for p, nested in graph.edges.items() if pathway.id in nested)
    if containing:
        names = ", ".join(graph.label(p) for p in containing)
        raise Conflict(f"pathway {pathway.id} is part of {names}; remove it from there first", referenced_by=containing)
    await session.delete(pathway)
    await session.flush()


# --- reading ----------------------------------------------------------------------------------


async def get_pathway(session: AsyncSession, *, tenant_id: str, pathway_id: str) -> Pathway:
    return await get_in_tenant(session, Pathway, pathway_id, tenant_id, noun="pathway")


async def list_pathways(session: AsyncSession, *, tenant_id: str, status: str | None = None) -> list[Pathway]:
    statement = in_tenant(select(Pathway), Pathway, tenant_id)
    if status is not None:
        statement = statement.where(Pathway.status == status)
    rows = await session.scalars(statement.order_by(Pathway.name, Pathway.id))
    return list(rows)


async def _with_nested(session: AsyncSession, tenant_id: str, root: Pathway) -> dict[str, Pathway]:
    """The pathway and every pathway it contains, however deep, by id."""
    loaded = {root.id: root}
    wanted = set(root.pathway_ids) - loaded.keys()
    while wanted:
        rows = await session.scalars(in_tenant(select(Pathway), Pathway, tenant_id).where(Pathway.id.in_(wanted)))
        batch = list(rows)
        loaded.update((row.id, row) for row in batch)
        wanted = {p for row in batch for p in row.pathway_ids} - loaded.keys()
    return loaded


async def pathway_progress(
    session: AsyncSession, *, tenant_id: str, pathway_id: str, completed_offering_ids: Iterable[str]
) -> PathwayProgress:
    """Which steps of the pathway these completed offerings satisfy, and what remains.

    Nested pathways count as satisfied when all their steps are; each is evaluated once.
    """
    root = await get_pathway(session, tenant_id=tenant_id, pathway_id=pathway_id)
    pathways = await _with_nested(session, tenant_id, root)
    completed = set(completed_offering_ids)
    evaluated: dict[str, tuple[bool, list[str]]] = {}

    def group(node: PathwayGroup, trail: frozenset[str]) -> PathwayGroupProgress:
        elements: list[PathwayOfferingProgress | PathwayNestedProgress | PathwayGroupProgress] = []
        remaining: list[str] = []
        for element in node.elements:
            if isinstance(element, PathwayOfferingRef):
                done = element.offering_id in completed
                elements.append(PathwayOfferingProgress(offering_id=element.offering_id, satisfied=done))
                if not done:
                    remaining.append(element.offering_id)
            elif isinstance(element, PathwayNestedRef):
                satisfied, left = pathway(element.pathway_id, trail)
                nested = pathways.get(element.pathway_id)
                elements.append(
                    PathwayNestedProgress(
                        pathway_id=element.pathway_id,
                        name=nested.name if nested is not None else "",
                        satisfied=satisfied,
                        remaining_offering_ids=left,
                    )
                )
                remaining.extend(left)
            else:
                inner = group(element, trail)
                elements.append(inner)
                remaining.extend(inner.remaining_offering_ids)
        required = len(node.elements) if node.kind == "all_of" else (node.n or 0)
        count = sum(1 for e in elements if e.satisfied)
        satisfied = count >= required
        return PathwayGroupProgress(
            kind=node.kind,
            title=node.title,
            required=required,
            satisfied_count=count,
            satisfied=satisfied,
            remaining_offering_ids=[] if satisfied else _distinct(remaining),
            elements=elements,
        )

    def steps(row: Pathway, trail: frozenset[str]) -> list[PathwayGroupProgress]:
        structure = PathwayStructure.model_validate(row.structure)
        return [group(step, trail | {row.id}) for step in structure.steps]

    def pathway(nested_id: str, trail: frozenset[str]) -> tuple[bool, list[str]]:
        if nested_id not in evaluated:
            row = pathways.get(nested_id)
            if row is None or nested_id in trail:  # gone, or (never stored) a cycle
                return False, []
            done = steps(row, trail)
            evaluated[nested_id] = (
                all(s.satisfied for s in done),
                _distinct(o for s in done for o in s.remaining_offering_ids),
            )
        return evaluated[nested_id]

    root_steps = steps(root, frozenset())
    return PathwayProgress(
        pathway_id=root.id,
        name=root.name,
        complete=all(s.satisfied for s in root_steps),
        steps=root_steps,
        remaining_offering_ids=_distinct(o for s in root_steps for o in s.remaining_offering_ids),
    )
