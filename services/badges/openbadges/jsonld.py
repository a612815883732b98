"""Offline JSON-LD for the badges service: the bundled-context loader and a fast, exact ``toRdf``.

Two things live here.

**The document loader.** ``reference/contexts.json`` maps each context URL we accept to a file in
``reference/``; nothing is fetched at run time and every other URL is refused
(:class:`ContextNotBundled`). :func:`load_context` serves our own code (parsed once, cached, shared
read-only); :func:`document_loader` has pyld's loader signature and hands pyld a private copy. Importing
this module changes no global state: pass the loader explicitly (``{"documentLoader": document_loader}``).

**JSON-LD to RDF** (:func:`to_rdf`), for signing with ``eddsa-rdfc-2022``. A signature only verifies
elsewhere if our canonical N-Quads equal, byte for byte, what the verifier computes, and the verifier
that matters runs ``jsonld`` 9 in *safe mode* with ``rdfDirection: "i18n-datatype"`` and
``base: null`` (Digital Bazaar's ``data-integrity`` / ``eddsa-rdfc-2022-cryptosuite``). So this is
JSON-LD 1.1 expansion + node map + toRdf written to behave as jsonld.js does, for the subset of JSON-LD
the bundled contexts (VC 2.0, OB 3.0.x, status list, data integrity, multikey, DID) and ordinary
credentials use:

* context processing: remote (bundled) and inline contexts, ``@protected`` (with jsonld.js's deep
  comparison on redefinition), ``@vocab``, ``@language``, ``@version: 1.1``, ``null`` contexts;
  term definitions with ``@id`` (terms, compact IRIs, prefixes, keyword aliases), ``@type``
  (``@id``, ``@vocab``, ``@json``, ``@none`` or a datatype IRI -- including the OB 3.0.3 context's
  ``xsd:dateTime``, which jsonld.js keeps as the literal IRI ``xsd:dateTime``), ``@container``
  ``@set`` / ``@list`` / ``@graph``, property- and type-scoped ``@context`` (type-scoped contexts
  do not propagate and are reverted on entering a nested node, as jsonld.js does), ``@language``;
* expansion: ``@context``, ``@id``, ``@type``, ``@value`` with ``@type`` / ``@language`` /
  ``@direction``, native numbers and booleans, ``null`` and empty arrays (dropped);
* toRdf: blank node labels issued in jsonld.js's order, duplicate elimination as its node map does
  it, lists, the ``proof`` named graph, canonical ``xsd:double`` (``1.1E0``), ``xsd:integer``,
  ``xsd:boolean``, ``rdf:JSON`` (JCS) and ``i18n`` direction datatypes.

Where jsonld.js in safe mode would fail -- an undefined term or type (it would drop it), a relative
IRI, a dropped free-floating value or empty proof, an invalid value object -- we raise
:class:`InvalidJsonLd` (:class:`UndefinedTerm` for terms), so an issuer refuses what no verifier
accepts. Anything outside the subset (``@reverse``, ``@index``, ``@nest``, ``@included``, explicit
``@graph`` / ``@list`` / ``@set`` objects, language/index/id/type maps, ``@base``, ``@import``,
``@propagate``, ``@direction`` in contexts, an unknown context URL, ...) raises
:class:`UnsupportedJsonLd` naming the JSON path, so the caller can answer 422 or fall back to pyld.

Because blank node labels and quad order match jsonld.js exactly, RDFC-1.0 (see :mod:`.rdfc`) sees
the same dataset the JS verifier sees, including for its complexity bound.
"""

from __future__ import annotations

import copy
import functools
import importlib
import json
import re
import threading
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeAlias

from services.badges.openbadges.rdfc import (
    DEFAULT_LIMITS,
    RDF_FIRST,
    RDF_JSON,
    RDF_LANGSTRING,
    RDF_NIL,
    RDF_REST,
    RDF_TYPE,
    XSD_BOOLEAN,
    XSD_DOUBLE,
    XSD_INTEGER,
    XSD_STRING,
    CanonicalizationError,
    CanonicalizationLimitExceeded,
    Limits,
    Quad,
    canonicalize,
    iri_term,
    literal_term,
)

__all__ = [
    "ContextNotBundled",
    "InvalidJsonLd",
    "UndefinedTerm",
    "UnsupportedJsonLd",
    "canonize",
    "canonize_with_pyld",
    "document_loader",
    "load_context",
    "to_rdf",
]

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"

_Path: TypeAlias = tuple[Any, str | int] | None
"""A JSON path as a linked list (parent, key); formatted only when an error is raised."""


# --- errors ----------------------------------------------------------------------------------


class UnsupportedJsonLd(CanonicalizationError):
    """Outside the JSON-LD subset this fast path implements; pyld may still process it (not exactly)."""


class ContextNotBundled(UnsupportedJsonLd):
    """A context URL that is not in ``reference/contexts.json``: nothing is ever fetched."""


class InvalidJsonLd(CanonicalizationError):
    """jsonld.js (safe mode, as the Digital Bazaar verifiers run it) rejects this input as well."""


class UndefinedTerm(InvalidJsonLd):
    """A property or type that does not expand to an absolute IRI; jsonld.js's safe mode refuses it."""


def _format_path(path: _Path) -> str:
    parts: list[str] = []
    while path is not None:
        path, key = path
        if isinstance(key, int):
            parts.append(f"[{key}]")
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            parts.append("." + key)
        else:
            parts.append("[" + json.dumps(key, ensure_ascii=False) + "]")
    return "$" + "".join(reversed(parts))


def _unsupported(message: str, path: _Path) -> UnsupportedJsonLd:
    return UnsupportedJsonLd(message, _format_path(path))


def _invalid(message: str, path: _Path) -> InvalidJsonLd:
    return InvalidJsonLd(message, _format_path(path))


# --- the document loader ---------------------------------------------------------------------


@functools.cache
def _bundled_files() -> dict[str, Path]:
    manifest = json.loads((REFERENCE_DIR / "contexts.json").read_text(encoding="utf-8"))
    return {url: REFERENCE_DIR / name for url, name in manifest["contexts"].items()}


_loaded: dict[str, Any] = {}
_load_lock = threading.Lock()


def load_context(url: str) -> Any:
    """The parsed bundled document for ``url``; shared between callers, so never mutate it."""
    document = _loaded.get(url)
    if document is None:
        file = _bundled_files().get(url)
        if file is None:
            raise ContextNotBundled(
                f"JSON-LD context {url!r} is not one of the bundled contexts (reference/contexts.json);"
                " nothing is fetched at run time"
            )
        with _load_lock:
            document = _loaded.get(url)
            if document is None:
                document = json.loads(file.read_text(encoding="utf-8"))
                _loaded[url] = document
    return document


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader over the bundled contexts: ``{"documentLoader": document_loader}``.

    Returns pyld's RemoteDocument shape with a private copy of the document (pyld may modify what it
    is given, and it caches processed contexts itself, so the copy costs nothing in steady state).
    """
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": copy.deepcopy(load_context(url)),
    }


# --- JavaScript-compatible primitives ---------------------------------------------------------

_KEYWORDS = frozenset(
    {
        "@base",
        "@container",
        "@context",
        "@default",
        "@direction",
        "@embed",
        "@explicit",
        "@graph",
        "@id",
        "@included",
        "@index",
        "@json",
        "@language",
        "@list",
        "@nest",
        "@none",
        "@omitDefault",
        "@prefix",
        "@preserve",
        "@protected",
        "@requireAll",
        "@reverse",
        "@set",
        "@type",
        "@value",
        "@version",
        "@vocab",
    }
)
_KEYWORD_FORM = re.compile(r"@[a-zA-Z]+")  # used with fullmatch: "reserved" look-alikes are dropped
_BCP47 = re.compile(r"[a-zA-Z]{1,8}(?:-[a-zA-Z0-9]{1,8})*")
# jsonld.js's (weak) absolute-IRI test: a scheme or "_", a colon, then no white space -- where white
# space is JavaScript's \s, which differs from Python's (no U+001C..U+001F or U+0085, but U+FEFF).
# "+-." is a range in both languages, so ',' counts as a scheme character there too.
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_ABSOLUTE_IRI = re.compile(f"(?:[A-Za-z][A-Za-z0-9+-.]*|_):[^{_JS_SPACE}]*")
_TERM_LOOKS_LIKE_IRI = re.compile(r":[^:]|/")
_GEN_DELIM_END = re.compile(r"[:/?#\[\]@]\Z")
_JS_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_I18N = "https://www.w3.org/ns/i18n#"


def _is_absolute(value: str) -> bool:
    return _ABSOLUTE_IRI.fullmatch(value) is not None


def _utf16_key(value: str) -> bytes:
    return value.encode("utf-16-be", "surrogatepass")


def _js_sorted(keys: Iterable[str]) -> list[str]:
    """Sorted as JavaScript's default sort does (UTF-16 code units), which jsonld.js relies on."""
    ordered = sorted(keys)
    for key in ordered:
        if not key.isascii() and _ASTRAL.search(key) is not None:
            return sorted(ordered, key=_utf16_key)
    return ordered


def _check_text(value: str, path: _Path) -> None:
    # A lone surrogate has no UTF-8 form: JavaScript would hash U+FFFD in its place while sorting by
    # the surrogate; no other implementation reproduces that, so such strings are not signed.
    if not value.isascii() and _SURROGATE.search(value) is not None:
        raise _unsupported("a string contains a lone UTF-16 surrogate", path)


def _js_number(value: int | float, path: _Path) -> float:
    """The IEEE double a JavaScript JSON parser makes of this JSON number."""
    try:
        number = float(value)
    except OverflowError:
        raise _unsupported("number too large for a JavaScript double", path) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise _unsupported("NaN and Infinity are not JSON numbers", path)
    return number


def _js_number_to_string(number: float) -> str:
    """ECMAScript Number::toString (also JSON.stringify) for a finite double."""
    if number == 0:
        return "0"
    if number < 0:
        return "-" + _js_number_to_string(-number)
    # repr() gives the shortest round-tripping digits, the digits ECMAScript requires as well.
    mantissa, _, exponent = repr(number).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + (int(exponent) if exponent else 0)
    significant = digits.lstrip("0")
    point -= len(digits) - len(significant)
    digits = significant.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    head = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{head}e{sign}{abs(e)}"


def _js_is_double(number: float) -> bool:
    # jsonld.js: a number is a double when String(n) has a "." or |n| >= 1e21, so 5.0 is an integer
    # (JSON.parse gives 5) and 1e-7 is an integer too (String gives "1e-7").
    if abs(number) >= 1e21:
        return True
    if number.is_integer():
        return False
    return "." in _js_number_to_string(number)


def _js_to_fixed0(number: float) -> str:
    """Number.prototype.toFixed(0) for the non-double numbers _js_is_double lets through."""
    if number.is_integer():
        return str(int(number))
    # Only tiny values such as 5e-7 get here (no "." in their JS string form); they round to 0 and
    # toFixed keeps the sign of a negative one.
    return "-0" if number < 0 else "0"


def _xsd_double(number: float) -> str:
    """jsonld.js's canonical double: ``n.toExponential(15)`` minus trailing zeros, ``E`` for ``e+``.

    toExponential rounds the exact binary value half *up*, so 1+2**-16 gives 1.000015258789063E0
    where Python's '%.15e' (half-even) would give ...062; hence integer arithmetic here.
    """
    if number == 0:
        return "0.0E0"
    sign = "-" if number < 0 else ""
    magnitude = abs(number)
    numerator, denominator = magnitude.as_integer_ratio()
    exponent = Decimal(magnitude).adjusted()
    shift = 15 - exponent
    if shift >= 0:
        numerator *= 10**shift
    else:
        denominator *= 10**-shift
    quotient, remainder = divmod(numerator, denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    if quotient >= 10**16:
        quotient //= 10
        exponent += 1
    digits = str(quotient)
    return f"{sign}{digits[0]}.{digits[1:].rstrip('0') or '0'}E{exponent}"


def _json_string(value: str) -> str:
    # JSON.stringify: the same escapes as Python's with ensure_ascii=False, plus lone surrogates as
    # lower-case \udXXX (well-formed JSON.stringify).
    text = json.dumps(value, ensure_ascii=False)
    if not text.isascii() and _SURROGATE.search(text) is not None:
        text = _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
    return text


def _jcs(value: Any, path: _Path) -> str:
    """RFC 8785 JSON canonicalization as the ``canonicalize`` npm package (used by jsonld.js) does it."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return _js_number_to_string(_js_number(value, path))
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, list):
        return "[" + ",".join(_jcs(item, (path, index)) for index, item in enumerate(value)) + "]"
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise _unsupported("JSON object keys must be strings", path)
        members = (_json_string(key) + ":" + _jcs(value[key], (path, key)) for key in _js_sorted(value))
        return "{" + ",".join(members) + "}"
    raise _unsupported(f"not a JSON value: {type(value).__name__}", path)


def _json_equal(a: Any, b: Any) -> bool:
    """jsonld.js's _deepCompare: JSON equality where true is not 1 (unlike Python's ==)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and bool(a == b)


def _context_key(value: Any) -> str:
    """A cache key for a local context value: its URL, or its JSON text."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        raise UnsupportedJsonLd("a @context that is not plain JSON") from None


def _js_truthy(value: Any) -> bool:
    """JavaScript truthiness (an empty object or array is true there)."""
    if isinstance(value, dict | list):
        return True
    return bool(value) and value == value  # NaN is false


# --- active contexts -------------------------------------------------------------------------


class _Term:
    """A term definition; the fields are the members jsonld.js compares for protected terms."""

    __slots__ = (
        "container",
        "context",
        "context_key",
        "has_colon",
        "has_context",
        "has_language",
        "iri",
        "language",
        "prefix",
        "protected",
        "type",
    )

    def __init__(self, iri: str | None, has_colon: bool) -> None:
        self.iri = iri
        self.has_colon = has_colon
        self.prefix: bool | None = None  # None: jsonld.js sets no "_prefix" member
        self.protected = False
        self.type: str | None = None
        self.container: tuple[str, ...] | None = None
        self.has_context = False
        self.context: Any = None
        self.context_key = ""
        self.has_language = False
        self.language: str | None = None

    def same_as(self, other: _Term) -> bool:
        return (
            self.iri == other.iri
            and self.has_colon == other.has_colon
            and self.prefix == other.prefix
            and self.protected == other.protected
            and self.type == other.type
            and (sorted(self.container) if self.container is not None else None)
            == (sorted(other.container) if other.container is not None else None)
            and self.has_context == other.has_context
            and (not self.has_context or _json_equal(self.context, other.context))
            and self.has_language == other.has_language
            and self.language == other.language
        )


_DERIVED_CACHE_SIZE = 256


class _Context:
    """An active context. Never modified once built, so derived contexts and IRI expansions are cached on it."""

    __slots__ = ("any_protected", "derived", "keys", "language", "previous", "terms", "vocab")

    def __init__(
        self,
        terms: dict[str, _Term],
        vocab: str | None = None,
        language: str | None = None,
        previous: _Context | None = None,
        any_protected: bool = False,
    ) -> None:
        self.terms = terms
        self.vocab = vocab
        self.language = language
        self.previous = previous  # the context before type-scoped contexts were applied
        self.any_protected = any_protected
        self.derived: dict[tuple[str, bool, bool], _Context] = {}
        self.keys: dict[str, str | None] = {}  # vocab-relative expansion of keys and types

    def clone(self) -> _Context:
        return _Context(dict(self.terms), self.vocab, self.language, self.previous, self.any_protected)

    def expand_vocab(self, value: str) -> str | None:
        """IRI expansion relative to @vocab (keys, types, @vocab-typed values); base is null."""
        try:
            return self.keys[value]
        except KeyError:
            result = self._expand_vocab(value)
            if len(self.keys) < 4096:
                self.keys[value] = result
            return result

    def _expand_vocab(self, value: str) -> str | None:
        if value in _KEYWORDS:
            return value
        if _KEYWORD_FORM.fullmatch(value):
            return None
        term = self.terms.get(value)
        if term is not None:
            return term.iri
        expanded = self._expand_compact(value)
        if expanded is not None:
            return expanded
        return self.vocab + value if self.vocab is not None else value

    def expand_id(self, value: str) -> str | None:
        """IRI expansion relative to the document base, which is null for canonicalization."""
        if value in _KEYWORDS:
            return value
        if _KEYWORD_FORM.fullmatch(value):
            return None
        expanded = self._expand_compact(value)
        return value if expanded is None else expanded

    def _expand_compact(self, value: str) -> str | None:
        colon = value.find(":")
        if colon > 0:
            prefix = value[:colon]
            suffix = value[colon + 1 :]
            if prefix == "_" or suffix.startswith("//"):
                return value
            term = self.terms.get(prefix)
            if term is not None and term.prefix and term.iri is not None:
                return term.iri + suffix
            if _is_absolute(value):
                return value
        return None


_INITIAL = _Context({})


class _ContextProcessor:
    """JSON-LD 1.1 context processing (as jsonld.js's context.js), restricted to the supported subset."""

    def process(
        self,
        active: _Context,
        local: Any,
        path: _Path,
        *,
        key: str | None = None,
        propagate: bool = True,
        override_protected: bool = False,
    ) -> _Context:
        cache_key = (_context_key(local) if key is None else key, propagate, override_protected)
        cached = active.derived.get(cache_key)
        if cached is not None:
            return cached
        result = self._process(active, local, path, propagate, override_protected, depth=0)
        if len(active.derived) >= _DERIVED_CACHE_SIZE:
            active.derived.clear()
        active.derived[cache_key] = result
        return result

    def _resolve(self, local: Any, path: _Path, depth: int) -> list[dict[str, Any] | None]:
        if isinstance(local, dict) and _js_truthy(local.get("@context")):
            local = local["@context"]
        items = local if isinstance(local, list) else [local]
        if len(items) > 16 or depth > 10:
            raise _unsupported("too many or too deeply nested @context references", path)
        resolved: list[dict[str, Any] | None] = []
        for item in items:
            if isinstance(item, str):
                try:
                    document = load_context(item)
                except ContextNotBundled as error:
                    raise ContextNotBundled(error.reason, _format_path(path)) from None
                if not isinstance(document, dict):
                    raise _invalid(f"context {item!r} is not a JSON object", path)
                # A remote context contributes its "@context" member (jsonld.js: {} when absent).
                resolved.extend(self._resolve({"@context": document.get("@context", {})}, path, depth + 1))
            elif item is None:
                resolved.append(None)
            elif isinstance(item, dict):
                resolved.append(item)
            else:
                raise _invalid("invalid local context: @context must be an object, a URL or null", path)
        return resolved

    def _process(
        self, active: _Context, local: Any, path: _Path, propagate: bool, override_protected: bool, depth: int
    ) -> _Context:
        if isinstance(local, dict) and isinstance(local.get("@context"), list):
            local = local["@context"]
        if isinstance(local, list) and not local:
            return active
        resolved = self._resolve(local, path, depth)
        if resolved and isinstance(resolved[0], dict) and "@propagate" in resolved[0]:
            raise _unsupported("@propagate is not supported", path)

        result = active
        if not propagate and result.previous is None:
            result = result.clone()
            result.previous = active
        for context in resolved:
            current = result
            if context is None:
                if not override_protected and current.any_protected:
                    raise _invalid("invalid context nullification: the active context has protected terms", path)
                result = _Context({})
                continue
            definition: Any = context.get("@context", context) if isinstance(context, dict) else context
            if not isinstance(definition, dict):
                raise _invalid("invalid local context: @context must be an object", path)
            result = current.clone()
            self._apply(result, definition, path, override_protected, depth)
        return result

    def _apply(self, result: _Context, ctx: dict[str, Any], path: _Path, override_protected: bool, depth: int) -> None:
        for keyword in ("@base", "@direction", "@import", "@propagate"):
            if keyword in ctx:
                raise _unsupported(f"{keyword} in a context is not supported", path)
        defined: dict[str, bool] = {}
        if "@version" in ctx:
            version = ctx["@version"]
            if isinstance(version, bool) or version != 1.1:
                raise _invalid(f"unsupported JSON-LD version {version!r}", path)
            defined["@version"] = True
        if "@vocab" in ctx:
            vocab = ctx["@vocab"]
            if vocab is None:
                result.vocab = None
            elif not isinstance(vocab, str):
                raise _invalid("@vocab must be a string or null", path)
            else:
                expanded = result._expand_vocab(vocab)
                if expanded is None or not _is_absolute(expanded):
                    raise _invalid(f"relative @vocab reference {vocab!r}", path)
                result.vocab = expanded
            defined["@vocab"] = True
        if "@language" in ctx:
            language = ctx["@language"]
            if language is None:
                result.language = None
            elif not isinstance(language, str) or _BCP47.fullmatch(language) is None:
                raise _invalid(f"invalid default @language {language!r}", path)
            else:
                result.language = language.lower()
            defined["@language"] = True
        if "@protected" in ctx:
            flag = ctx["@protected"]
            if not _js_truthy(flag):
                # jsonld.js records a falsy @protected as "being defined" and then fails on it as a
                # cyclic definition.
                raise _invalid(f"@protected: {flag!r} (jsonld.js fails on it as a cyclic definition)", path)
            if flag is not True:
                raise _unsupported(f"@protected: {flag!r} in a context is not supported", path)
            defined["@protected"] = True
        context_protected = defined.get("@protected", False)

        for term in ctx:
            if term in ("@version", "@vocab", "@language", "@protected"):
                continue
            self._define(result, ctx, term, defined, override_protected, context_protected, path)
            value = ctx[term]
            if isinstance(value, dict) and "@context" in value:
                scoped = value["@context"]
                if scoped is not None and not isinstance(scoped, dict):
                    raise _unsupported("only inline (or null) scoped contexts are supported", path)
                # jsonld.js validates a scoped context when defining its term, whether or not it is used.
                try:
                    self._process(result.clone(), scoped, path, True, True, depth + 1)
                except InvalidJsonLd as error:
                    raise _invalid(f"invalid scoped context for term {term!r}: {error.reason}", path) from error

    def _define(
        self,
        active: _Context,
        local: dict[str, Any],
        term: str,
        defined: dict[str, bool],
        override_protected: bool,
        context_protected: bool,
        path: _Path,
    ) -> None:
        """jsonld.js createTermDefinition, restricted to what we support."""
        state = defined.get(term)
        if state is True:
            return
        if state is False:
            raise _invalid(f"cyclic IRI mapping for term {term!r}", path)
        defined[term] = False
        value = local[term]
        if term in _KEYWORDS:
            if term == "@type":
                raise _unsupported("redefining @type is not supported", path)
            raise _invalid(f"keyword redefinition: {term}", path)
        if _KEYWORD_FORM.fullmatch(term):
            raise _invalid(f"reserved term {term!r} (jsonld.js safe mode rejects it)", path)
        if term == "":
            raise _invalid("a term cannot be the empty string", path)

        previous = active.terms.pop(term, None)
        simple = value is None or isinstance(value, str)
        if simple:
            value = {"@id": value}
        if not isinstance(value, dict):
            raise _invalid(f"term {term!r}: a definition must be a string, null or an object", path)
        for member in value:
            if member not in ("@container", "@id", "@language", "@reverse", "@type", "@context", "@protected"):
                if member in ("@direction", "@index", "@nest", "@prefix"):
                    raise _unsupported(f"term {term!r}: {member} is not supported", path)
                raise _invalid(f"term {term!r}: a term definition must not contain {member}", path)
        if "@reverse" in value:
            raise _unsupported(f"term {term!r}: @reverse is not supported", path)

        colon = term.find(":")
        has_colon = colon > 0
        iri: str | None = None
        prefix_flag: bool | None = None
        mapped = False
        if "@id" in value and value["@id"] != term:
            target = value["@id"]
            if target is None:
                mapped = True
            elif not isinstance(target, str):
                raise _invalid(f"term {term!r}: @id must be a string", path)
            elif target not in _KEYWORDS and _KEYWORD_FORM.fullmatch(target):
                raise _invalid(f"term {term!r}: reserved @id value {target!r}", path)
            else:
                iri = self._expand_in_definition(active, local, target, defined, context_protected, path)
                if iri is None or not (_is_absolute(iri) or iri in _KEYWORDS):
                    raise _invalid(f"term {term!r}: @id must be an absolute IRI or a keyword", path)
                if _TERM_LOOKS_LIKE_IRI.search(term):
                    probe = dict(defined)
                    probe[term] = True
                    if self._expand_in_definition(active, local, term, probe, context_protected, path) != iri:
                        raise _invalid(f"term {term!r} looks like an IRI but maps to another one", path)
                prefix_flag = simple and not has_colon and _GEN_DELIM_END.search(iri) is not None
                mapped = True
        if not mapped:
            if has_colon:
                prefix = term[:colon]
                if prefix in local:
                    self._define(active, local, prefix, defined, False, context_protected, path)
                parent = active.terms.get(prefix)
                if parent is not None:
                    if parent.iri is None:
                        raise _unsupported(f"term {term!r}: its prefix is mapped to null", path)
                    iri = parent.iri + term[colon + 1 :]
                else:
                    iri = term
            elif active.vocab is None:
                raise _invalid(f"term {term!r} has no @id and there is no @vocab", path)
            else:
                iri = active.vocab + term

        definition = _Term(iri, has_colon)
        definition.prefix = prefix_flag
        protected_member = value.get("@protected")
        if protected_member is not None and not isinstance(protected_member, bool):
            raise _unsupported(f"term {term!r}: @protected must be a boolean", path)
        if protected_member is True or (context_protected and protected_member is not False):
            definition.protected = True
            active.any_protected = True
        defined[term] = True

        if "@type" in value:
            datatype = value["@type"]
            if not isinstance(datatype, str):
                raise _invalid(f"term {term!r}: @type must be a string", path)
            if datatype not in ("@id", "@vocab", "@json", "@none"):
                datatype = self._expand_in_definition(active, local, datatype, defined, context_protected, path)
                if datatype is None or not _is_absolute(datatype) or datatype.startswith("_:"):
                    raise _invalid(f"term {term!r}: @type must be an absolute IRI", path)
            definition.type = datatype
        if "@container" in value:
            container = value["@container"]
            container = [container] if isinstance(container, str) else container
            if not isinstance(container, list) or not all(isinstance(item, str) for item in container):
                raise _invalid(f"term {term!r}: invalid @container", path)
            for item in container:
                if item in ("@index", "@language", "@id", "@type"):
                    raise _unsupported(f"term {term!r}: {item} containers are not supported", path)
                if item not in ("@list", "@set", "@graph"):
                    raise _invalid(f"term {term!r}: invalid @container {item!r}", path)
            if "@list" in container and len(container) != 1:
                raise _invalid(f"term {term!r}: @list cannot be combined with other containers", path)
            if "@graph" not in container and len(container) > (2 if "@set" in container else 1):
                raise _invalid(f"term {term!r}: invalid @container", path)
            definition.container = tuple(container)
        if "@context" in value:
            definition.has_context = True
            definition.context = value["@context"]
            definition.context_key = _context_key(value["@context"])
        if "@language" in value and "@type" not in value:
            language = value["@language"]
            if language is not None and not isinstance(language, str):
                raise _invalid(f"term {term!r}: @language must be a string or null", path)
            definition.has_language = True
            definition.language = language.lower() if language is not None else None
        if iri in ("@context", "@preserve"):
            raise _invalid(f"term {term!r}: @context and @preserve cannot be aliased", path)

        if previous is not None and previous.protected and not override_protected:
            definition.protected = True
            active.any_protected = True
            if not previous.same_as(definition):
                raise _invalid(f"protected term redefinition: {term!r}", path)
        active.terms[term] = definition

    def _expand_in_definition(
        self,
        active: _Context,
        local: dict[str, Any],
        value: str,
        defined: dict[str, bool],
        context_protected: bool,
        path: _Path,
    ) -> str | None:
        """IRI expansion (vocab-relative, no base) while a context is being defined: defines dependencies first."""
        if value in _KEYWORDS:
            return value
        if _KEYWORD_FORM.fullmatch(value):
            return None
        # Dependencies are defined as jsonld.js does it: without overriding protected terms.
        if value in local and defined.get(value) is not True:
            self._define(active, local, value, defined, False, context_protected, path)
        term = active.terms.get(value)
        if term is not None:
            return term.iri
        colon = value.find(":")
        if colon > 0:
            prefix = value[:colon]
            suffix = value[colon + 1 :]
            if prefix == "_" or suffix.startswith("//"):
                return value
            if prefix in local:
                self._define(active, local, prefix, defined, False, context_protected, path)
            parent = active.terms.get(prefix)
            if parent is not None and parent.prefix and parent.iri is not None:
                return parent.iri + suffix
            if _is_absolute(value):
                return value
        return active.vocab + value if active.vocab is not None else value


# --- expansion -------------------------------------------------------------------------------


class _Value:
    """An expanded value object (jsonld.js {"@value", "@type", "@language", "@direction"})."""

    __slots__ = ("datatype", "direction", "language", "term", "value")

    def __init__(
        self, value: Any, datatype: str | None, language: str | None, direction: str | None, path: _Path
    ) -> None:
        self.value = value
        self.datatype = datatype
        self.language = language
        self.direction = direction
        # The RDF literal, made now so that a value we cannot represent is reported with its path.
        self.term = _literal(self, path)

    def key(self) -> tuple[Any, ...]:
        """What jsonld.js's compareValues compares (@value with ===, @type, @language; not @direction)."""
        value = self.value
        if isinstance(value, bool):
            tagged: tuple[Any, ...] = ("b", value)
        elif isinstance(value, int | float):
            try:
                tagged = ("n", float(value))
            except OverflowError:
                tagged = ("i", value)
        elif isinstance(value, str):
            tagged = ("s", value)
        elif value is None:
            tagged = ("z",)
        else:  # a JSON object or array (@json): compared by identity in JavaScript
            tagged = ("o", id(self))
        return (tagged, self.datatype, self.language)


class _Node:
    """An expanded node object; ``graph`` is set for the {"@graph": [...]} wrappers of @graph containers."""

    __slots__ = ("graph", "id", "properties", "size", "types")

    def __init__(
        self,
        node_id: str | None,
        types: list[str],
        properties: dict[str, list[Any]],
        size: int,
        graph: list[Any] | None = None,
    ) -> None:
        self.id = node_id
        self.types = types
        self.properties = properties
        self.size = size  # number of members of the expanded object, which jsonld.js's drop rules count
        self.graph = graph


class _List:
    __slots__ = ("items",)

    def __init__(self, items: list[Any]) -> None:
        self.items = items


_Expanded: TypeAlias = _Node | _Value | _List


def _unsafe_to_drop(item: _Expanded) -> str | None:
    """jsonld.js drops (and safe mode rejects) these at the top level and as @graph container items."""
    if isinstance(item, _Value):
        return "a value object"
    if isinstance(item, _List):
        return "a list object"
    if item.size == 0:
        return "an empty object"
    if item.size == 1 and item.id is not None:
        return "an object with only an @id"
    return None


class _Expander:
    def __init__(self, processor: _ContextProcessor, limits: Limits) -> None:
        self.processor = processor
        self.max_depth = limits.max_depth

    def expand(self, ctx: _Context, prop: str | None, element: Any, path: _Path, depth: int) -> Any:
        """jsonld.js expand(): returns an _Expanded, a list of them, or None (dropped)."""
        if depth > self.max_depth:
            raise CanonicalizationLimitExceeded(f"JSON nested deeper than {self.max_depth}", _format_path(path))
        if element is None:
            return None
        if isinstance(element, dict):
            return self.expand_object(ctx, prop, element, path, depth)
        if isinstance(element, list):
            term = ctx.terms.get(prop) if prop is not None else None
            in_list = term is not None and term.container is not None and "@list" in term.container
            result: list[Any] = []
            for index, item in enumerate(element):
                expanded = self.expand(ctx, prop, item, (path, index), depth + 1)
                if expanded is None:
                    continue
                if isinstance(expanded, list):
                    if in_list:
                        raise _unsupported("lists of lists are not supported", (path, index))
                    result.extend(expanded)
                else:
                    result.append(expanded)
            return result
        if prop is None:
            raise _invalid("free-floating value outside any node object", path)
        return self.expand_value(ctx, prop, element, path)

    def expand_value(self, ctx: _Context, prop: str, value: Any, path: _Path) -> _Expanded:
        """jsonld.js _expandValue: type coercion and default language for a scalar."""
        if not isinstance(value, str | bool | int | float):
            raise _unsupported(f"not a JSON value: {type(value).__name__}", path)
        if isinstance(value, str):
            _check_text(value, path)
        term = ctx.terms.get(prop)
        datatype = term.type if term is not None else None
        if isinstance(value, str):
            if datatype == "@id":
                iri = ctx.expand_id(value)
                if iri is None:
                    raise _invalid(f"reserved @id value {value!r}", path)
                return _Node(iri, [], {}, 1)
            if datatype == "@vocab":
                # jsonld.js yields {"@id": null} for a keyword look-alike here, and its node map
                # silently drops a reference whose @id is empty: "" marks that.
                return _Node(ctx.expand_vocab(value) or "", [], {}, 1)
        if datatype is not None and datatype not in ("@id", "@vocab", "@none"):
            return _Value(value, datatype, None, None, path)
        language = None
        if isinstance(value, str):
            language = term.language if term is not None and term.has_language else ctx.language
        return _Value(value, None, language, None, path)

    def expand_object(self, ctx: _Context, prop: str | None, element: dict[str, Any], path: _Path, depth: int) -> Any:
        keys = _js_sorted(element)
        prop_term = ctx.terms.get(prop) if prop is not None else None

        # A type-scoped context does not propagate into nested nodes: revert it, unless this object
        # is a value object or a bare reference (jsonld.js checks with the type-scoped context).
        if ctx.previous is not None:
            revert = True
            if len(keys) <= 2 and "@context" not in element:
                for key in keys:
                    expanded_key = ctx.expand_vocab(key)
                    if expanded_key == "@value":
                        revert = False
                        break
                    if expanded_key == "@id" and len(keys) == 1:
                        revert = False
                        break
            if revert:
                ctx = ctx.previous
        if prop_term is not None and prop_term.has_context:
            ctx = self.processor.process(
                ctx, prop_term.context, path, key=prop_term.context_key, propagate=True, override_protected=True
            )
        if "@context" in element:
            ctx = self.processor.process(ctx, element["@context"], (path, "@context"))

        # Type-scoped contexts, looked up in the context as it was before any of them applied.
        type_scoped = ctx
        for key in keys:
            if ctx.expand_vocab(key) != "@type":
                continue
            types = element[key]
            if isinstance(types, list):
                if not all(isinstance(item, str) for item in types):
                    raise _invalid("@type values must be strings", (path, key))
                if len(types) > 1:
                    types = _js_sorted(types)
            elif isinstance(types, str):
                types = [types]
            else:
                raise _invalid("@type values must be strings", (path, key))
            for type_name in types:
                term = type_scoped.terms.get(type_name)
                if term is not None and term.has_context:
                    ctx = self.processor.process(
                        ctx, term.context, (path, key), key=term.context_key, propagate=False, override_protected=False
                    )

        node_id: str | None = None
        types_out: list[str] = []
        properties: dict[str, list[Any]] = {}
        seen_keywords: set[str] = set()
        has_value = False
        value: Any = None
        language: str | None = None
        direction: str | None = None
        for key in keys:
            if key == "@context":
                continue
            item = element[key]
            key_path = (path, key)
            expanded_key = ctx.expand_vocab(key)
            if expanded_key is None or not (expanded_key in _KEYWORDS or _is_absolute(expanded_key)):
                raise UndefinedTerm(
                    f"term {key!r} is not defined by the active context (jsonld.js safe mode rejects it)",
                    _format_path(key_path),
                )
            if expanded_key in _KEYWORDS:
                if expanded_key in seen_keywords and expanded_key != "@type":
                    raise _invalid(f"colliding keywords: more than one key expands to {expanded_key}", key_path)
                if expanded_key != "@language" or item is not None:  # a null @language counts as absent
                    seen_keywords.add(expanded_key)
                if expanded_key == "@id":
                    if not isinstance(item, str):
                        raise _invalid("@id must be a string", key_path)
                    _check_text(item, key_path)
                    node_id = ctx.expand_id(item)
                    if node_id is None:
                        raise _invalid(f"reserved @id value {item!r}", key_path)
                    if not _is_absolute(node_id):
                        raise _invalid(f"relative @id reference {item!r} (the base IRI is null)", key_path)
                elif expanded_key == "@type":
                    for index, type_name in enumerate(item if isinstance(item, list) else [item]):
                        if not isinstance(type_name, str):
                            raise _invalid("@type values must be strings", key_path)
                        type_iri = type_scoped.expand_vocab(type_name)
                        if type_iri != "@json" and (type_iri is None or not _is_absolute(type_iri)):
                            raise UndefinedTerm(
                                f"type {type_name!r} is not defined by the active context"
                                " (jsonld.js safe mode rejects it)",
                                _format_path((key_path, index) if isinstance(item, list) else key_path),
                            )
                        if type_iri.startswith("_:"):
                            raise _unsupported("blank node types are not supported", key_path)
                        types_out.append(type_iri)
                elif expanded_key == "@value":
                    if isinstance(item, str):
                        _check_text(item, key_path)
                    has_value = True
                    value = item
                elif expanded_key == "@language":
                    if item is None:
                        continue
                    if not isinstance(item, str):
                        raise _invalid("@language must be a string", key_path)
                    language = item.lower()
                    if _BCP47.fullmatch(language) is None:
                        raise _invalid(f"@language {item!r} is not a BCP 47 tag", key_path)
                elif expanded_key == "@direction":
                    if item not in ("ltr", "rtl"):
                        raise _invalid('@direction must be "ltr" or "rtl"', key_path)
                    direction = item
                else:
                    raise _unsupported(f"{expanded_key} is not supported", key_path)
                continue

            term = ctx.terms.get(key)
            if term is not None and term.type == "@json":
                expanded: Any = _Value(item, "@json", None, None, key_path)
            else:
                term_ctx = ctx
                if term is not None and term.has_context:
                    term_ctx = self.processor.process(
                        ctx, term.context, key_path, key=term.context_key, propagate=True, override_protected=True
                    )
                expanded = self.expand(term_ctx, key, item, key_path, depth + 1)
                if expanded is None:
                    continue
            container = term.container if term is not None else None
            if container:
                if "@list" in container and not isinstance(expanded, _List):
                    expanded = _List(expanded if isinstance(expanded, list) else [expanded])
                if "@graph" in container:
                    graph_items = expanded if isinstance(expanded, list) else [expanded]
                    for index, graph_item in enumerate(graph_items):
                        reason = _unsafe_to_drop(graph_item)
                        if reason is not None:
                            raise _invalid(f"{reason} in a @graph container is dropped", (key_path, index))
                    if not graph_items:
                        continue
                    expanded = [_Node(None, [], {}, 1, [graph_item]) for graph_item in graph_items]
            values = properties.get(expanded_key)
            if values is None:
                values = properties[expanded_key] = []
            if isinstance(expanded, list):
                values.extend(expanded)
            else:
                values.append(expanded)

        result: _Expanded
        if has_value:
            if properties or node_id is not None:
                raise _invalid("a value object may only have @type, @language, @direction and @index", path)
            if types_out and (language is not None or direction is not None):
                raise _invalid("a value object cannot have both @type and @language or @direction", path)
            if len(types_out) > 1:
                raise _unsupported("a value object with several types is not supported", path)
            datatype = types_out[0] if types_out else None
            if datatype != "@json":
                if value is None:
                    raise _invalid("null @value (jsonld.js safe mode rejects it)", path)
                if not isinstance(value, str | bool | int | float):
                    raise _invalid("@value must be a string, number or boolean", path)
                if language is not None and not isinstance(value, str):
                    raise _invalid("only strings may be language-tagged", path)
                if datatype is not None and datatype.startswith("_:"):
                    raise _invalid("a value object's @type must be an IRI", path)
            result = _Value(value, datatype, language, direction, path)
        else:
            if language is not None or direction is not None:
                if not properties and not types_out and node_id is None and direction is None:
                    raise _invalid("an object with only @language is dropped (jsonld.js safe mode rejects it)", path)
                raise _unsupported("@language or @direction on a node object is not supported", path)
            if "@json" in types_out:
                raise _invalid("@json is not a node type", path)
            size = (node_id is not None) + bool(types_out) + len(properties)
            result = _Node(node_id, types_out, properties, size)

        # Drop rules for top-level objects and @graph container items (jsonld.js checks with the
        # final active context; the enclosing object checked its container already).
        if prop is None or (
            (term := ctx.terms.get(prop)) is not None and term.container and "@graph" in term.container
        ):
            reason = _unsafe_to_drop(result)
            if reason is not None:
                where = "at the top level" if prop is None else "in a @graph container"
                raise _invalid(f"{reason} {where} is dropped (jsonld.js safe mode rejects it)", path)
        return result


# --- node map and RDF ------------------------------------------------------------------------

_TYPE = iri_term(RDF_TYPE)
_FIRST = iri_term(RDF_FIRST)
_REST = iri_term(RDF_REST)
_NIL = iri_term(RDF_NIL)


class _Subject:
    __slots__ = ("properties", "seen", "type_set", "types")

    def __init__(self) -> None:
        self.types: list[str] = []
        self.type_set: set[str] = set()
        self.properties: dict[str, list[Any]] = {}
        self.seen: dict[str, set[Any]] = {}


class _Builder:
    """jsonld.js createNodeMap + toRdf: the same blank node labels, the same quads, the same order."""

    def __init__(self, limits: Limits) -> None:
        self.graphs: dict[str, dict[str, _Subject]] = {"@default": {}}
        self.labels: dict[str, str] = {}
        self.counter = 0
        self.quads: list[Quad] = []
        self.max_quads = limits.max_quads

    def label(self, old: str | None) -> str:
        """jsonld.js's IdentifierIssuer("_:b"): document labels are renamed, new ones issued in order."""
        if old is not None:
            new = self.labels.get(old)
            if new is not None:
                return new
        new = f"_:b{self.counter}"
        self.counter += 1
        if old is not None:
            self.labels[old] = new
        return new

    def add_node(self, node: _Node, graph: str, name: str | None, members: list[Any] | None) -> None:
        if name is None:
            name = self.label(node.id) if node.id is None or node.id.startswith("_:") else node.id
        if members is not None:
            members.append(name)
        subjects = self.graphs[graph]
        subject = subjects.get(name)
        if subject is None:
            subject = subjects[name] = _Subject()
        # Members in jsonld.js's order: "@graph" sorts before "@type", which sorts before any IRI.
        if node.graph is not None:
            if name not in self.graphs:
                self.graphs[name] = {}
            for inner in node.graph:
                self.add_node(inner, name, None, None)
        for type_iri in node.types:
            if type_iri not in subject.type_set:
                subject.type_set.add(type_iri)
                subject.types.append(type_iri)
        for prop in _js_sorted(node.properties):
            values = subject.properties.get(prop)
            if values is None:
                values = subject.properties[prop] = []
                seen = subject.seen[prop] = set()
            else:
                seen = subject.seen[prop]
            for item in node.properties[prop]:
                if isinstance(item, _Node):
                    if item.id == "":
                        continue  # jsonld.js skips a reference with a null or empty @id
                    reference = self.label(item.id) if item.id is None or item.id.startswith("_:") else item.id
                    if reference not in seen:
                        seen.add(reference)
                        values.append(reference)
                    if item.size > 1 or item.id is None:
                        self.add_node(item, graph, reference, None)
                elif isinstance(item, _Value):
                    key = item.key()
                    if key not in seen:
                        seen.add(key)
                        values.append(item)
                else:
                    cells: list[Any] = []
                    for member in item.items:
                        if isinstance(member, _Node):
                            self.add_node(member, graph, None, cells)
                        else:
                            cells.append(member)
                    values.append(cells)  # lists are never equal to one another in jsonld.js

    def build(self) -> list[Quad]:
        for graph in _js_sorted(self.graphs):
            graph_term = "" if graph == "@default" else graph
            subjects = self.graphs[graph]
            for name in _js_sorted(subjects):
                subject = subjects[name]
                subject_term = name if name.startswith("_:") else iri_term(name)
                for type_iri in subject.types:
                    self.emit(subject_term, _TYPE, iri_term(type_iri), graph_term)
                for prop in _js_sorted(subject.properties):
                    if prop.startswith("_:"):
                        raise InvalidJsonLd(f"blank node predicate {prop!r} (jsonld.js safe mode rejects it)")
                    predicate = iri_term(prop)
                    for item in subject.properties[prop]:
                        self.emit(subject_term, predicate, self.object_term(item, graph_term), graph_term)
        return self.quads

    def emit(self, subject: str, predicate: str, obj: str, graph: str) -> None:
        if len(self.quads) >= self.max_quads:
            raise CanonicalizationLimitExceeded(f"more than {self.max_quads} quads")
        self.quads.append((subject, predicate, obj, graph))

    def object_term(self, item: Any, graph: str) -> str:
        if isinstance(item, str):
            if item.startswith("_:"):
                return item
            if not _is_absolute(item):
                raise InvalidJsonLd(f"relative IRI reference {item!r} (the base IRI is null)")
            return iri_term(item)
        if isinstance(item, _Value):
            return item.term
        # A list: the head is labelled first, then each cell after its item is converted (jsonld.js order).
        members: list[Any] = item
        if not members:
            return _NIL
        head = self.label(None)
        cell = head
        for member in members[:-1]:
            first = self.object_term(member, graph)
            following = self.label(None)
            self.emit(cell, _FIRST, first, graph)
            self.emit(cell, _REST, following, graph)
            cell = following
        self.emit(cell, _FIRST, self.object_term(members[-1], graph), graph)
        self.emit(cell, _REST, _NIL, graph)
        return head


def _literal(item: _Value, path: _Path) -> str:
    """jsonld.js _objectToRDF for a value object, serialized."""
    value = item.value
    datatype = item.datatype
    if datatype == "@json":
        return literal_term(_jcs(value, path), RDF_JSON)
    if isinstance(value, bool):
        return literal_term("true" if value else "false", datatype or XSD_BOOLEAN)
    if isinstance(value, int | float):
        number = _js_number(value, path)
        if _js_is_double(number) or datatype == XSD_DOUBLE:
            return literal_term(_xsd_double(number), datatype or XSD_DOUBLE)
        return literal_term(_js_to_fixed0(number), datatype or XSD_INTEGER)
    if datatype == XSD_DOUBLE:
        # jsonld.js reformats a string typed xsd:double through parseFloat; we accept plain numerals only.
        if not isinstance(value, str) or _JS_FLOAT.fullmatch(value) is None:
            raise _unsupported(f"xsd:double value {value!r} is not a plain decimal numeral", path)
        number = float(value)
        if number in (float("inf"), float("-inf")):
            raise _unsupported(f"xsd:double value {value!r} overflows", path)
        return literal_term(_xsd_double(number), datatype)
    if item.direction is not None:
        # rdfDirection "i18n-datatype", as the eddsa-rdfc-2022 cryptosuite sets it.
        return literal_term(value, f"{_I18N}{(item.language or '').lower()}_{item.direction}")
    if item.language is not None:
        return literal_term(value, datatype or RDF_LANGSTRING, item.language)
    return literal_term(value, datatype or XSD_STRING)


_processor = _ContextProcessor()


def to_rdf(document: Any, *, limits: Limits = DEFAULT_LIMITS) -> list[Quad]:
    """The RDF dataset jsonld.js (``toRDF``, safe mode, base null, i18n-datatype) makes of ``document``.

    Quads are serialized N-Quads terms (see :data:`services.badges.openbadges.rdfc.Quad`), in jsonld.js's order
    and with its blank node labels. Raises :class:`InvalidJsonLd` where jsonld.js would fail,
    :class:`UnsupportedJsonLd` outside the supported subset, :class:`CanonicalizationLimitExceeded`
    past ``limits``.
    """
    try:
        expanded = _Expander(_processor, limits).expand(_INITIAL, None, document, None, 0)
        items = [] if expanded is None else expanded if isinstance(expanded, list) else [expanded]
        builder = _Builder(limits)
        for item in items:
            builder.add_node(item, "@default", None, None)
        return builder.build()
    except RecursionError:
        # Deep nesting the depth limit does not see (a @json value, a context): refuse, do not crash.
        raise CanonicalizationLimitExceeded("input nested too deeply") from None


def canonize(document: Any, *, limits: Limits = DEFAULT_LIMITS) -> str:
    """Canonical N-Quads (RDFC-1.0) of a JSON-LD document, identical to what the JS verifiers compute.

    The fast path for signing: raises :class:`InvalidJsonLd` (never signable),
    :class:`UnsupportedJsonLd` (outside the subset; see :func:`canonize_with_pyld`) or
    :class:`CanonicalizationLimitExceeded`; all are :class:`CanonicalizationError`.
    """
    return canonicalize(to_rdf(document, limits=limits), limits)


@functools.cache
def _pyld() -> Any:
    # Imported on first use: pyld ships no type information, and only the comparison path needs it.
    return importlib.import_module("pyld.jsonld")


def canonize_with_pyld(document: Any) -> str:
    """URDNA2015 canonical N-Quads by pyld over the bundled contexts, for comparison and fallback.

    pyld has no safe mode and escapes literals differently from the JS reference (see
    :func:`services.badges.openbadges.rdfc.escape_literal`), so its output may differ from :func:`canonize`.
    """
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": document_loader,
        "rdfDirection": "i18n-datatype",
    }
    result: str = _pyld().normalize(document, options)
    return result
