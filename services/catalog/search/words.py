"""Search words: text turned into normalized words, once, in Python, for documents and queries
alike, so that both backends and both engines answer the same query with the same offerings.

Lower-case, accents removed, split on anything not a letter or digit, stop words out, and a light
English suffix rule set (not a full stemmer). A document's words are indexed as their stem and, when
that differs, also as written, so that a word typed half-way still finds it as a prefix.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from services.catalog.models import Offering
from shared.problems import BadRequest

# Words too common to help a search; dropped from documents and queries alike.
STOP_WORDS = frozenset(
    {"a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "in", "into", "is", "it", "its", "of"}
    | {"on", "or", "that", "the", "their", "this", "to", "was", "were", "will", "with"}
)
_WORD = re.compile(r"[0-9a-z]+")
# A light English suffix rule set (not a full stemmer): plural and verb endings, so that
# "assessments" finds "assessment" and "coaching" finds "coach". Applied identically to
# documents and queries, which is what keeps both backends' answers the same.
_SUFFIXES = (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""))

MAX_QUERY_WORDS = 12
MAX_WORD_LENGTH = 60


def _stem(word: str) -> str:
    if len(word) <= 4 or word.isdigit():
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            return word[: -len(suffix)] + replacement
    return word


def words(value: str | None) -> list[str]:
    """Lower-case, accents removed, split on anything not a letter or digit, stop words out."""
    if not value:
        return []
    return [_stem(w) for w in _raw_words(value)]


def _raw_words(value: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", value.casefold())
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c))
    # Longer runs are not words (PostgreSQL would drop them from its index, FTS5 would not).
    return [w for w in _WORD.findall(ascii_only) if w not in STOP_WORDS and len(w) <= MAX_WORD_LENGTH]


def document(offering: Offering, tags: Iterable[str], competency_statements: Iterable[str]) -> tuple[str, str]:
    """The normalized title words and body words (summary, description, tags, competencies).

    Each word is indexed as its stem and, when that differs, also as written, so that a word
    typed half-way ("teachi") still finds it as a prefix.
    """
    title = " ".join(_indexed(offering.title))
    body_parts = [offering.summary, offering.description, " ".join(tags), *competency_statements]
    body = " ".join(w for part in body_parts for w in _indexed(part))
    return title, body


def _indexed(value: str | None) -> list[str]:
    found = []
    for raw in _raw_words(value or ""):
        stem = _stem(raw)
        found.extend([stem] if stem == raw else [stem, raw])
    return found


def query_words(value: str | None) -> list[str]:
    """The query's words; the last, a prefix as typed, is matched stemmed *or* as typed
    ("teachi" must find "teaching", whose stem is "teach"): ``"teach|teachi"``."""
    found = words(value)
    if len(found) > MAX_QUERY_WORDS:
        raise BadRequest(f"a search may have at most {MAX_QUERY_WORDS} words", pointer="/query/q")
    raw = _raw_words(value or "")
    if found and raw and raw[-1] != found[-1]:
        found[-1] = f"{found[-1]}|{raw[-1]}"
    return found
