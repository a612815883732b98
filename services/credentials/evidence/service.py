"""Evidence of a draft submission: a reflection (text), a link, or a file checked by its content
and kept in the evidence store; and reading a file back.

A file is stored before its row is written and removed again if the row cannot be; a removed
item's file is deleted after the commit (by the route), so a rolled-back removal keeps it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.credentials.designs.content import MAX_EVIDENCE_BYTES, tier_of
from services.credentials.evidence.sniff import ContentProbe
from services.credentials.evidence.storage import Chunks, EvidenceStore
from services.credentials.models import EvidenceItem, Pursuit, Submission
from services.credentials.pursuits import service as pursuits
from services.credentials.schemas import EvidenceRequirement
from services.credentials.submissions.service import editable, get_submission, items
from shared.auth import Principal
from shared.db import utcnow
from shared.problems import FieldError, NotFound, UnprocessableContent

_WORD = re.compile(r"\b[\w'\u2019-]+\b")
# Files per requirement (e.g. "two artifacts"): enough for a portfolio, not a dumping ground.
MAX_FILES_PER_REQUIREMENT = 10


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


async def requirement_of(session: AsyncSession, submission: Submission, key: str) -> EvidenceRequirement:
    pursuit = await session.get(Pursuit, submission.pursuit_id)
    assert pursuit is not None
    tier = tier_of(await pursuits.content_of(session, pursuit), submission.tier_key)
    for requirement in tier.evidence:
        if requirement.key == key:
            return requirement
    raise UnprocessableContent(
        f"tier {tier.key!r} asks for no evidence {key!r}",
        errors=[FieldError(pointer="/body/requirement", detail=f"one of: {', '.join(r.key for r in tier.evidence)}")],
    )


@dataclass(frozen=True)
class Upload:
    file_name: str
    chunks: Chunks


async def add_evidence(
    session: AsyncSession,
    who: Principal,
    store: EvidenceStore,
    submission_id: str,
    *,
    requirement_key: str,
    text: str | None,
    url: str | None,
    upload: Upload | None,
) -> EvidenceItem:
    """Add (or, for a reflection or link, replace) a piece of evidence. A file is stored before
    the row is written, and removed again if the row cannot be."""
    submission = await get_submission(session, who, submission_id)
    editable(who, submission)
    requirement = await requirement_of(session, submission, requirement_key)
    given = {"text": text is not None, "url": url is not None, "file": upload is not None}
    wanted = {"reflection": "text", "link": "url", "file": "file", "student_data": "file"}[requirement.kind]
    extra = [name for name, present in given.items() if present and name != wanted]
    if not given[wanted] or extra:
        raise UnprocessableContent(
            f"a {requirement.kind} requirement takes `{wanted}`",
            errors=[FieldError(pointer=f"/body/{name}", detail="not for this requirement") for name in extra]
            or [FieldError(pointer=f"/body/{wanted}", detail="required for this requirement")],
        )
    now = utcnow()
    item = EvidenceItem(
        id=str(uuid.uuid4()),
        submission_id=submission.id,
        requirement_key=requirement.key,
        kind=requirement.kind,
        contains_student_information=requirement.kind == "student_data" or requirement.contains_student_information,
        created_at=now,
    )
    existing = [i for i in await items(session, submission.id) if i.requirement_key == requirement.key]
    if requirement.kind == "reflection":
        assert text is not None
        words = count_words(text)
        low, high = requirement.min_words, requirement.max_words
        if (low and words < low) or (high and words > high):
            bounds = f"{low or 0} to {high}" if high else f"at least {low}"
            raise UnprocessableContent(
                f"the reflection has {words} words; this prompt asks for {bounds}",
                errors=[FieldError(pointer="/body/text", detail=f"{words} words, {bounds} wanted")],
                word_count=words,
            )
        item.text, item.word_count = text, words
    elif requirement.kind == "link":
        assert url is not None
        item.url = url
    else:
        assert upload is not None
        if len(existing) >= MAX_FILES_PER_REQUIREMENT:
            raise UnprocessableContent(
                f"at most {MAX_FILES_PER_REQUIREMENT} files per requirement",
                errors=[FieldError(pointer="/body/file", detail="remove one first")],
            )
        key = f"{submission.tenant_id}/{submission.id}/{item.id}"
        probe = ContentProbe(upload.chunks, allowed=set(requirement.allowed_types))
        stored = await store.put(key, probe, max_bytes=requirement.max_bytes or MAX_EVIDENCE_BYTES)
        assert probe.detected is not None
        item.storage_key, item.size, item.sha256 = stored.key, stored.size, stored.sha256
        item.media_type, item.file_name = probe.detected.media_type, upload.file_name[:255]
    if requirement.kind in ("reflection", "link"):
        for old in existing:
            await session.delete(old)
    try:
        session.add(item)
        await session.flush()
    except BaseException:
        if item.storage_key:
            await store.delete(item.storage_key)
        raise
    return item


async def remove_evidence(session: AsyncSession, who: Principal, submission_id: str, item_id: str) -> str | None:
    """Remove an item from a draft; returns the storage key to delete after commit."""
    submission = await get_submission(session, who, submission_id)
    editable(who, submission)
    item = await session.get(EvidenceItem, item_id)
    if item is None or item.submission_id != submission.id:
        raise NotFound(f"no evidence {item_id} in this submission")
    key = item.storage_key
    await session.delete(item)
    await session.flush()
    return key


async def evidence_file(session: AsyncSession, who: Principal, submission_id: str, item_id: str) -> EvidenceItem:
    """A file of a submission the caller may read (its educator, assigned assessors, coordinators)."""
    submission = await get_submission(session, who, submission_id)
    item = await session.get(EvidenceItem, item_id)
    if item is None or item.submission_id != submission.id or item.storage_key is None:
        raise NotFound(f"no file {item_id} in this submission")
    return item
