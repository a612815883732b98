"""A design's content on its own: the checks it must pass (the ones a field's own validation
cannot express: keys that must be unique, levels that must exist, prerequisites that must come
earlier), its stored form, and its tiers."""

from __future__ import annotations

from typing import Any

from services.credentials.schemas import EVIDENCE_TYPES, DesignContent, Tier
from shared.problems import FieldError, UnprocessableContent

# An upload may never be larger than this, whatever a design says (the request limit is 25 MiB).
MAX_EVIDENCE_BYTES = 25 * 1024 * 1024


def _duplicates(keys: list[str]) -> list[int]:
    seen: set[str] = set()
    found = []
    for index, key in enumerate(keys):
        if key in seen:
            found.append(index)
        seen.add(key)
    return found


def content_errors(content: DesignContent, *, publishing: bool = False) -> list[FieldError]:
    """Everything wrong with a design, each with its JSON pointer (empty when it is sound)."""
    errors: list[FieldError] = []

    def add(pointer: str, detail: str) -> None:
        errors.append(FieldError(pointer="/body" + pointer, detail=detail))

    for i in _duplicates(list(content.competency_ids)):
        add(f"/competency_ids/{i}", "this competency is already listed")
    for i in _duplicates([t.key for t in content.tiers]):
        add(f"/tiers/{i}/key", "another tier has this key")
    earlier: set[str] = set()
    for t, tier in enumerate(content.tiers):
        at = f"/tiers/{t}"
        for p, prerequisite in enumerate(tier.prerequisite_tiers):
            if prerequisite not in earlier:
                add(f"{at}/prerequisite_tiers/{p}", "must be the key of an earlier tier")
        earlier.add(tier.key)
        for i in _duplicates([e.key for e in tier.evidence]):
            add(f"{at}/evidence/{i}/key", "another requirement of this tier has this key")
        for e, requirement in enumerate(tier.evidence):
            where = f"{at}/evidence/{e}"
            words = requirement.min_words is not None or requirement.max_words is not None
            if requirement.kind == "reflection":
                if requirement.allowed_types or requirement.max_bytes:
                    add(where, "a reflection is text: no allowed_types or max_bytes")
                if requirement.min_words and requirement.max_words and requirement.min_words > requirement.max_words:
                    add(f"{where}/max_words", "must not be less than min_words")
            elif requirement.kind in ("file", "student_data"):
                if words:
                    add(where, "word limits apply to reflections only")
                if not requirement.allowed_types:
                    add(f"{where}/allowed_types", "name at least one file type")
                for a, media_type in enumerate(requirement.allowed_types):
                    if media_type not in EVIDENCE_TYPES:
                        add(f"{where}/allowed_types/{a}", f"not a type the upload check recognises: {media_type}")
                if requirement.max_bytes and requirement.max_bytes > MAX_EVIDENCE_BYTES:
                    add(f"{where}/max_bytes", f"at most {MAX_EVIDENCE_BYTES} bytes")
            elif words or requirement.allowed_types or requirement.max_bytes:
                add(where, "a link has no word limits, types or sizes")
        for i in _duplicates([c.key for c in tier.rubric.criteria]):
            add(f"{at}/rubric/criteria/{i}/key", "another criterion has this key")
        for c, criterion in enumerate(tier.rubric.criteria):
            levels = [level.key for level in criterion.levels]
            for i in _duplicates(levels):
                add(f"{at}/rubric/criteria/{c}/levels/{i}/key", "another level of this criterion has this key")
            if criterion.passing_level not in levels:
                add(f"{at}/rubric/criteria/{c}/passing_level", "must be the key of one of the criterion's levels")
        if publishing and not tier.achievement_id:
            add(f"{at}/achievement_id", "a published tier names the badges achievement it awards")
    return errors


def normalized(content: DesignContent) -> dict[str, Any]:
    """The content as stored: student-data evidence always carries the student-information flag."""
    for tier in content.tiers:
        for requirement in tier.evidence:
            if requirement.kind == "student_data":
                requirement.contains_student_information = True
    return content.model_dump(mode="json")


def check_content(content: DesignContent, *, publishing: bool = False) -> None:
    errors = content_errors(content, publishing=publishing)
    if errors:
        verb = "published" if publishing else "saved"
        raise UnprocessableContent(f"the design cannot be {verb} ({len(errors)} problem(s))", errors=errors)


def tier_of(content: DesignContent, tier_key: str, pointer: str = "/body/tier") -> Tier:
    for tier in content.tiers:
        if tier.key == tier_key:
            return tier
    raise UnprocessableContent(
        f"this design has no tier {tier_key!r}",
        errors=[FieldError(pointer=pointer, detail=f"one of: {', '.join(t.key for t in content.tiers)}")],
    )
