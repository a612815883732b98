"""RDF Dataset Canonicalization (RDFC-1.0, formerly URDNA2015) to canonical N-Quads.

The ``eddsa-rdfc-2022`` cryptosuite signs the SHA-256 of this canonical form, so a credential only
verifies elsewhere if we produce the very same bytes as the verifier. The reference we must agree
with is the JavaScript stack Digital Bazaar's verifiers run (``jsonld`` 9 + ``rdf-canonize`` 5),
so this module follows the RDFC-1.0 recommendation *as that implementation realises it*, including
the details where an implementation has latitude or the JS code has a quirk we must copy:

* Sorting is by UTF-16 code units (JavaScript's ``Array.prototype.sort``), not by code points;
  the two orders differ only when a character above U+FFFF meets one in U+E000..U+FFFF.
* Literal and IRI escaping follow the canonical N-Quads form of RDFC-1.0 (RDF 1.2), which is what
  rdf-canonize writes and what pyld 3 does not (see :func:`escape_literal`).
* In "Hash Related Blank Node" the predicate goes in as ``<IRI>`` *unescaped*.
* The Hash N-Degree Quads permutation loop skips a permutation as soon as its path compares
  greater than the chosen path (no length test), enumerates permutations in
  Steinhaus-Johnson-Trotter order over the sorted list, and counts every call against the same
  "deep iterations" budget (``maxWorkFactor`` 1: at most as many calls as there are blank nodes
  whose first-degree hash is shared). A dataset that exceeds it is refused by the JS verifier, so
  we refuse it too rather than sign something nobody can verify.

Quads are plain 4-tuples of *already serialised* N-Quads terms, which keeps the hot loops to string
operations: ``<escaped IRI>``, ``_:label`` for a blank node, a complete literal such as
``"1"^^<http://www.w3.org/2001/XMLSchema#integer>``, and for the graph ``""`` (default graph),
``_:label`` or ``<IRI>``. Build them with :func:`iri_term` and :func:`literal_term`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain

__all__ = [
    "RDF_FIRST",
    "RDF_JSON",
    "RDF_LANGSTRING",
    "RDF_NIL",
    "RDF_REST",
    "RDF_TYPE",
    "XSD_BOOLEAN",
    "XSD_DOUBLE",
    "XSD_INTEGER",
    "XSD_STRING",
    "CanonicalizationError",
    "CanonicalizationLimitExceeded",
    "Limits",
    "Quad",
    "canonicalize",
    "escape_iri",
    "escape_literal",
    "iri_term",
    "literal_term",
    "serialize_nquads",
]

Quad = tuple[str, str, str, str]
"""(subject, predicate, object, graph) as serialised N-Quads terms; graph ``""`` is the default graph."""

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDF_TYPE = RDF + "type"
RDF_FIRST = RDF + "first"
RDF_REST = RDF + "rest"
RDF_NIL = RDF + "nil"
RDF_LANGSTRING = RDF + "langString"
RDF_JSON = RDF + "JSON"
XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"
XSD_BOOLEAN = XSD + "boolean"
XSD_INTEGER = XSD + "integer"
XSD_DOUBLE = XSD + "double"


class CanonicalizationError(ValueError):
    """The input cannot be canonicalized exactly as the JavaScript reference would.

    ``path`` names where in the input (a JSON path such as ``$.credentialSubject.name``), when known.
    Subclasses in :mod:`services.badges.openbadges.jsonld` say whether the JS verifier would reject the input too
    (:class:`~services.badges.openbadges.jsonld.InvalidJsonLd`) or we merely do not handle it on the fast path
    (:class:`~services.badges.openbadges.jsonld.UnsupportedJsonLd`).
    """

    def __init__(self, message: str, path: str | None = None) -> None:
        self.reason = message
        self.path = path
        super().__init__(f"{message} (at {path})" if path else message)


class CanonicalizationLimitExceeded(CanonicalizationError):
    """The input is larger or more complex than we agree to canonicalize (a denial-of-service bound)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on the size and complexity of anything we canonicalize.

    ``max_work_factor`` is rdf-canonize's ``maxWorkFactor`` (default 1 there and in the Digital Bazaar
    verifiers): the Hash N-Degree Quads algorithm may run at most ``n ** max_work_factor`` times, ``n``
    being the number of blank nodes whose first-degree hash is shared. Raising it lets us sign datasets
    the JS verifier refuses, so keep 1 for anything that is signed. ``max_deep_iterations``, when set,
    overrides the computed budget (as rdf-canonize's ``maxDeepIterations`` does).
    """

    max_quads: int = 20_000
    max_blank_nodes: int = 5_000
    max_work_factor: int = 1
    max_deep_iterations: int | None = None
    max_permutations: int = 20_000
    max_depth: int = 64
    """JSON nesting depth accepted by :func:`services.badges.openbadges.jsonld.to_rdf`."""


DEFAULT_LIMITS = Limits()

# --- N-Quads terms ---------------------------------------------------------------------------
#
# String literals. rdf-canonize 5 (lib/NQuads.js) writes the canonical N-Quads form of RDFC-1.0
# (that of RDF 1.2 N-Triples): the seven characters with a short ECHAR form use it --
# U+0008 -> \b, U+0009 -> \t, U+000A -> \n, U+000C -> \f, U+000D -> \r, U+0022 -> \", U+005C -> \\
# -- and every other code point in U+0000..U+001F, plus U+007F, becomes a UCHAR with upper-case hex
# (U+0001 -> \u0001, U+001B -> \u001B, U+007F -> \u007F). Nothing else is escaped: U+0080 and up,
# U+2028, emoji and so on are written as themselves (UTF-8 when hashed). pyld 3 escapes only
# \ \t \n \r " and writes the rest raw, which is why a credential with, say, U+0001, U+0008, U+000C
# or U+007F in a string signed with pyld fails in JavaScript verifiers.
_LITERAL_ESCAPES: dict[int, str] = {cp: f"\\u{cp:04X}" for cp in (*range(0x20), 0x7F)}
_LITERAL_ESCAPES.update({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"})
_LITERAL_NEEDS_ESCAPE = re.compile('[\x00-\x1f\x7f"\\\\]')

# IRIs: rdf-canonize escapes U+0000..U+0020 and < > " { } | ^ ` \ as UCHAR (upper-case hex); these
# are exactly the characters IRIREF cannot hold. Our JSON-LD layer only lets absolute IRIs through
# (no white space), so in practice this touches control characters and the punctuation.
_IRI_ESCAPES: dict[int, str] = {cp: f"\\u{cp:04X}" for cp in (*range(0x21), *b'<>"{}|^`\\')}
_IRI_NEEDS_ESCAPE = re.compile('[\x00-\x20<>"{}|^`\\\\]')
_IRI_UCHAR = re.compile(r"\\u([0-9A-F]{4})")

# Characters outside the Basic Multilingual Plane: the only ones for which UTF-16 order (what
# JavaScript sorts by) and code-point order (what Python sorts by) can disagree.
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# A lone surrogate cannot be encoded as UTF-8; JavaScript would hash it as U+FFFD while keeping it
# in the string, which no other implementation reproduces. We refuse such input.
_SURROGATE = re.compile("[\ud800-\udfff]")


def escape_literal(value: str) -> str:
    """The body of a string literal in canonical N-Quads, escaped as rdf-canonize does."""
    if _LITERAL_NEEDS_ESCAPE.search(value) is None:
        return value
    return value.translate(_LITERAL_ESCAPES)


def escape_iri(value: str) -> str:
    """The body of an IRIREF in canonical N-Quads, escaped as rdf-canonize does."""
    if _IRI_NEEDS_ESCAPE.search(value) is None:
        return value
    return value.translate(_IRI_ESCAPES)


def iri_term(iri: str) -> str:
    """A named node term: ``<iri>``."""
    return "<" + escape_iri(iri) + ">"


def literal_term(lexical: str, datatype: str = XSD_STRING, language: str | None = None) -> str:
    """A literal term, written the way rdf-canonize writes it.

    ``xsd:string`` literals carry no datatype; ``rdf:langString`` literals carry ``@language`` (or
    nothing when the language is empty, as in the JS serializer); every other datatype is ``^^<IRI>``.
    """
    body = '"' + escape_literal(lexical) + '"'
    if datatype == XSD_STRING:
        return body
    if datatype == RDF_LANGSTRING:
        return body + "@" + language if language else body
    return body + "^^<" + escape_iri(datatype) + ">"


def _utf16_key(value: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly as JavaScript compares strings (by code unit).
    return value.encode("utf-16-be", "surrogatepass")


def _sort_lines(lines: list[str], astral: bool) -> None:
    if astral:
        lines.sort(key=_utf16_key)
    else:
        lines.sort()


def _nquad(s: str, p: str, o: str, g: str) -> str:
    return f"{s} {p} {o} {g} .\n" if g else f"{s} {p} {o} .\n"


def _check_text(quads: Sequence[Quad]) -> bool:
    """Refuse what cannot be hashed as the JS reference does; say whether UTF-16 sorting is needed."""
    blob = "".join(chain.from_iterable(quads))
    if blob.isascii():
        return False
    if _SURROGATE.search(blob) is not None:
        raise CanonicalizationError("a string contains a lone UTF-16 surrogate, which has no UTF-8 encoding")
    return _ASTRAL.search(blob) is not None


def serialize_nquads(quads: Sequence[Quad]) -> str:
    """N-Quads with the lines sorted as JavaScript sorts them (rdf-canonize ``NQuads.serialize``)."""
    lines = [_nquad(*quad) for quad in quads]
    _sort_lines(lines, _check_text(quads))
    return "".join(lines)


# --- RDFC-1.0 --------------------------------------------------------------------------------


class _Issuer:
    """Identifier issuer: hands out ``prefix + counter`` and remembers the order it did so in."""

    __slots__ = ("counter", "ids", "prefix")

    def __init__(self, prefix: str, ids: dict[str, str] | None = None, counter: int = 0) -> None:
        self.prefix = prefix
        self.ids: dict[str, str] = {} if ids is None else ids
        self.counter = counter

    def issue(self, old: str) -> str:
        new = self.ids.get(old)
        if new is None:
            new = self.prefix + str(self.counter)
            self.counter += 1
            self.ids[old] = new
        return new

    def clone(self) -> _Issuer:
        return _Issuer(self.prefix, dict(self.ids), self.counter)


def _permutations(items: list[str]) -> Iterator[list[str]]:
    """Every ordering of ``items``, in Steinhaus-Johnson-Trotter order starting from the sorted list.

    The order is that of rdf-canonize's Permuter. Which permutation comes first decides where the
    early exit of Hash N-Degree Quads cuts, hence how many deep iterations a dataset costs, so it is
    part of being exactly as strict as the JS verifier. Directions are keyed by value, as there.
    """
    current = sorted(items)
    if len(current) == 1:
        yield current
        return
    looks_left = dict.fromkeys(current, True)
    last = len(current) - 1
    while True:
        yield current.copy()
        mobile: str | None = None
        position = 0
        for index, element in enumerate(current):
            if (mobile is None or element > mobile) and (
                (looks_left[element] and index > 0 and element > current[index - 1])
                or (not looks_left[element] and index < last and element > current[index + 1])
            ):
                mobile, position = element, index
        if mobile is None:
            return
        target = position - 1 if looks_left[mobile] else position + 1
        current[position], current[target] = current[target], mobile
        for element in current:
            if element > mobile:
                looks_left[element] = not looks_left[element]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class _Canonicalizer:
    __slots__ = (
        "astral",
        "blank_quads",
        "canonical",
        "first_degree",
        "max_deep",
        "max_permutations",
        "permutations",
        "remaining_deep",
    )

    def __init__(self, blank_quads: dict[str, list[Quad]], astral: bool, limits: Limits) -> None:
        self.blank_quads = blank_quads
        self.astral = astral
        self.canonical = _Issuer("_:c14n")
        self.first_degree: dict[str, str] = {}
        self.max_deep = 0
        self.remaining_deep = 0
        self.permutations = 0
        self.max_permutations = limits.max_permutations

    def hash_first_degree(self, label: str) -> str:
        # Every blank node is written _:a (the one being hashed) or _:z (any other); rdf-canonize
        # never substitutes already issued canonical labels here (the spec erratum it preserves).
        lines = []
        for s, p, o, g in self.blank_quads[label]:
            if s[0] == "_":
                s = "_:a" if s == label else "_:z"
            if o[0] == "_":
                o = "_:a" if o == label else "_:z"
            if g:
                if g[0] == "_":
                    g = "_:a" if g == label else "_:z"
                lines.append(f"{s} {p} {o} {g} .\n")
            else:
                lines.append(f"{s} {p} {o} .\n")
        _sort_lines(lines, self.astral)
        digest = _sha256("".join(lines))
        self.first_degree[label] = digest
        return digest

    def hash_related(self, related: str, predicate: str, issuer: _Issuer, position: str) -> str:
        identifier = self.canonical.ids.get(related) or issuer.ids.get(related) or self.first_degree[related]
        if position == "g":
            return _sha256("g" + identifier)
        # The JS code hashes "<" + the raw predicate IRI + ">", not the escaped IRIREF.
        if "\\" in predicate:
            predicate = _IRI_UCHAR.sub(lambda match: chr(int(match.group(1), 16)), predicate)
        return _sha256(position + predicate + identifier)

    def hash_n_degree(self, label: str, issuer: _Issuer) -> tuple[str, _Issuer]:
        if self.remaining_deep <= 0:
            raise CanonicalizationLimitExceeded(
                f"blank node structure too complex: more than {self.max_deep} Hash N-Degree Quads calls"
                " (the JavaScript verifier's maxWorkFactor bound)"
            )
        self.remaining_deep -= 1

        hash_to_related: dict[str, list[str]] = {}
        for s, p, o, g in self.blank_quads[label]:
            if s[0] == "_" and s != label:
                hash_to_related.setdefault(self.hash_related(s, p, issuer, "s"), []).append(s)
            if o[0] == "_" and o != label:
                hash_to_related.setdefault(self.hash_related(o, p, issuer, "o"), []).append(o)
            if g and g[0] == "_" and g != label:
                hash_to_related.setdefault(self.hash_related(g, p, issuer, "g"), []).append(g)

        canonical = self.canonical.ids
        data = hashlib.sha256()
        for related_hash in sorted(hash_to_related):
            data.update(related_hash.encode())
            chosen_path = ""
            chosen_issuer = issuer
            for permutation in _permutations(hash_to_related[related_hash]):
                self.permutations += 1
                if self.permutations > self.max_permutations:
                    raise CanonicalizationLimitExceeded(
                        f"blank node structure too complex: more than {self.max_permutations} permutations"
                    )
                issuer_copy = issuer.clone()
                path = ""
                recursion: list[str] = []
                skip = False
                for related in permutation:
                    canonical_id = canonical.get(related)
                    if canonical_id is not None:
                        path += canonical_id
                    else:
                        if related not in issuer_copy.ids:
                            recursion.append(related)
                        path += issuer_copy.issue(related)
                    if chosen_path and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                for related in recursion:
                    result_hash, result_issuer = self.hash_n_degree(related, issuer_copy)
                    path += issuer_copy.issue(related) + "<" + result_hash + ">"
                    issuer_copy = result_issuer
                    if chosen_path and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                if not chosen_path or path < chosen_path:
                    chosen_path = path
                    chosen_issuer = issuer_copy
            data.update(chosen_path.encode())
            issuer = chosen_issuer
        return data.hexdigest(), issuer


def canonicalize(quads: Sequence[Quad], limits: Limits = DEFAULT_LIMITS) -> str:
    """The canonical N-Quads (RDFC-1.0, SHA-256) of ``quads``, byte-for-byte as rdf-canonize writes it.

    Duplicate quads are kept, as the JS implementation keeps them (our JSON-LD layer produces the same
    multiset of quads as jsonld.js). Raises :class:`CanonicalizationLimitExceeded` past ``limits``.
    """
    if len(quads) > limits.max_quads:
        raise CanonicalizationLimitExceeded(f"too many quads: {len(quads)} > {limits.max_quads}")
    astral = _check_text(quads)

    # Blank node -> the quads it occurs in (each quad once, as the JS Set does), in first-seen order.
    blank_quads: dict[str, list[Quad]] = {}
    for quad in quads:
        s, _, o, g = quad
        if s[0] == "_":
            entry = blank_quads.get(s)
            if entry is None:
                blank_quads[s] = [quad]
            else:
                entry.append(quad)
        if o[0] == "_" and o != s:
            entry = blank_quads.get(o)
            if entry is None:
                blank_quads[o] = [quad]
            else:
                entry.append(quad)
        if g and g[0] == "_" and g != s and g != o:
            entry = blank_quads.get(g)
            if entry is None:
                blank_quads[g] = [quad]
            else:
                entry.append(quad)
    if len(blank_quads) > limits.max_blank_nodes:
        raise CanonicalizationLimitExceeded(f"too many blank nodes: {len(blank_quads)} > {limits.max_blank_nodes}")

    state = _Canonicalizer(blank_quads, astral, limits)
    hash_to_blanks: dict[str, list[str]] = {}
    for label in blank_quads:
        digest = state.hash_first_degree(label)
        group = hash_to_blanks.get(digest)
        if group is None:
            hash_to_blanks[digest] = [label]
        else:
            group.append(label)

    # Unique first-degree hashes are labelled straight away, in hash order; shared ones wait.
    non_unique: list[list[str]] = []
    for digest in sorted(hash_to_blanks):
        group = hash_to_blanks[digest]
        if len(group) > 1:
            non_unique.append(group)
        else:
            state.canonical.issue(group[0])

    if limits.max_deep_iterations is not None:
        state.max_deep = limits.max_deep_iterations
    else:
        state.max_deep = sum(len(group) for group in non_unique) ** limits.max_work_factor
    state.remaining_deep = state.max_deep

    for group in non_unique:
        results: list[tuple[str, _Issuer]] = []
        for label in group:
            if label in state.canonical.ids:
                continue
            issuer = _Issuer("_:b")
            issuer.issue(label)
            try:
                results.append(state.hash_n_degree(label, issuer))
            except RecursionError:
                # Hash N-Degree Quads recurses along chains of look-alike blank nodes; a chain longer
                # than Python's stack allows is refused rather than crashing the caller.
                raise CanonicalizationLimitExceeded("blank node structure too deep to canonicalize") from None
        results.sort(key=lambda result: result[0])  # stable, as V8's sort is
        for _, issuer in results:
            for old in issuer.ids:
                state.canonical.issue(old)

    canonical = state.canonical.ids
    lines = []
    for s, p, o, g in quads:
        # rdf-canonize leaves a label alone if it already starts with "c14n"; copied for exactness.
        if s[0] == "_" and not s.startswith("_:c14n"):
            s = canonical[s]
        if o[0] == "_" and not o.startswith("_:c14n"):
            o = canonical[o]
        if g and g[0] == "_" and not g.startswith("_:c14n"):
            g = canonical[g]
        lines.append(f"{s} {p} {o} {g} .\n" if g else f"{s} {p} {o} .\n")
    _sort_lines(lines, astral)
    return "".join(lines)
