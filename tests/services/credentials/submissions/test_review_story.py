"""A tier from draft to decision: evidence checks, submission, assignment, blind scoring against
the rubric, return and resubmission, the coaching rule, uploads, two-stage and double scoring."""

from __future__ import annotations

import copy
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.services.credentials.test_designs_and_pursuits import DESIGN, Credentials, credentials  # noqa: F401

EDUCATOR = "user:educator"
EXECUTABLE = Path("/bin/ls").read_bytes()[:65536]  # a real ELF program


def words(n: int) -> str:
    return " ".join(["practice"] * n)


def pdf_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "white").save(buffer, format="PDF")
    return buffer.getvalue()


async def _setup(c: Credentials, **settings: Any) -> tuple[str, dict[str, str]]:
    """A published design, three assessors, and an educator's active pursuit of it."""
    body = copy.deepcopy(DESIGN)
    body["settings"].update({"learning_plan_required": False, **settings})
    created = (await c.client.post("/v1/credential-designs", json=body, headers=c.as_())).json()
    await c.client.post(f"/v1/credential-designs/{created['id']}/publish", headers=c.as_())
    for assessor in ("user:a1", "user:a2", EDUCATOR):
        await c.client.put(f"/v1/assessors/{assessor}", json={}, headers=c.as_())
    educator = c.as_("educator", EDUCATOR)
    pursuit = (await c.client.post("/v1/pursuits", json={"design_id": created["id"]}, headers=educator)).json()
    return pursuit["id"], educator


async def _tier1(c: Credentials, pursuit_id: str, educator: dict[str, str]) -> dict[str, Any]:
    opened = await c.client.post(f"/v1/pursuits/{pursuit_id}/submissions", json={"tier": "learning"}, headers=educator)
    assert opened.status_code == 201, opened.text
    sid = opened.json()["id"]
    for requirement, n in (("summary", 550), ("next_steps", 200)):
        added = await c.client.post(
            f"/v1/submissions/{sid}/evidence", data={"requirement": requirement, "text": words(n)}, headers=educator
        )
        assert added.status_code == 201, added.text
    submitted = await c.client.post(f"/v1/submissions/{sid}/submit", json={"evidence_public": True}, headers=educator)
    assert submitted.status_code == 200, submitted.text
    return dict(submitted.json())


def scores(level: str = "on_track", **overrides: str) -> list[dict[str, str]]:
    return [{"criterion": k, "level": overrides.get(k, level)} for k in ("understanding", "application", "length")]


async def test_a_tier_is_returned_coached_resubmitted_and_passed(credentials: Credentials, backend: str) -> None:  # noqa: F811
    c = credentials
    pursuit_id, educator = await _setup(c, blind_review=True, resubmission_cap=1)
    opened = (
        await c.client.post(f"/v1/pursuits/{pursuit_id}/submissions", json={"tier": "learning"}, headers=educator)
    ).json()
    sid = opened["id"]
    skipping = await c.client.post(f"/v1/pursuits/{pursuit_id}/submissions", json={"tier": "impact"}, headers=educator)
    short = await c.client.post(
        f"/v1/submissions/{sid}/evidence", data={"requirement": "summary", "text": words(120)}, headers=educator
    )
    wrong_field = await c.client.post(
        f"/v1/submissions/{sid}/evidence", data={"requirement": "summary", "url": "https://x.example"}, headers=educator
    )
    incomplete = await c.client.post(f"/v1/submissions/{sid}/submit", headers=educator)
    assert skipping.status_code == 409, "tier 3 needs tier 2 passed"
    assert short.status_code == 422
    assert short.json()["word_count"] == 120
    assert wrong_field.status_code == 422
    assert incomplete.status_code == 422
    assert {e["pointer"] for e in incomplete.json()["errors"]} == {"/evidence/summary", "/evidence/next_steps"}

    for requirement, n in (("summary", 550), ("next_steps", 200)):
        await c.client.post(
            f"/v1/submissions/{sid}/evidence", data={"requirement": requirement, "text": words(n)}, headers=educator
        )
    submitted = (await c.client.post(f"/v1/submissions/{sid}/submit", headers=educator)).json()
    (review,) = submitted["reviews"] or [None]
    assert submitted["state"] == "in_review"
    assert submitted["due_on"] is not None
    assert review["assessor_id"] == "user:a1", "least loaded, ties by id, never the educator"

    assessor = c.as_("assessor", "user:a1")
    queue = (await c.client.get("/v1/reviews", headers=assessor)).json()
    other_queue = (await c.client.get("/v1/reviews", headers=c.as_("assessor", "user:a2"))).json()
    not_yours = await c.client.post(
        f"/v1/reviews/{review['id']}/scores", json={"scores": scores()}, headers=c.as_("assessor", "user:a2")
    )
    contradicts = await c.client.post(
        f"/v1/reviews/{review['id']}/scores",
        json={"scores": scores(application="not_yet"), "outcome": "pass"},
        headers=assessor,
    )
    partial = await c.client.post(f"/v1/reviews/{review['id']}/scores", json={"scores": scores()[:2]}, headers=assessor)
    returned = await c.client.post(
        f"/v1/reviews/{review['id']}/scores",
        json={"scores": scores(application="not_yet"), "comment": "Tie the strategies to one class."},
        headers=assessor,
    )
    assert [s["id"] for s in queue] == [sid]
    assert queue[0]["educator_id"] is None, "blind review hides who submitted"
    assert other_queue == []
    assert not_yours.status_code == 403
    assert contradicts.status_code == 422
    assert contradicts.json()["errors"][0]["pointer"] == "/body/outcome"
    assert partial.status_code == 422
    assert returned.json()["state"] == "returned"
    seen_by_educator = (await c.client.get(f"/v1/submissions/{sid}", headers=educator)).json()
    assert seen_by_educator["reviews"][0]["comment"] == "Tie the strategies to one class."

    # Cap 1: the next attempt waits for a coaching conversation.
    blocked = await c.client.post(f"/v1/pursuits/{pursuit_id}/submissions", json={"tier": "learning"}, headers=educator)
    self_coached = await c.client.post(
        f"/v1/pursuits/{pursuit_id}/coaching", json={"tier": "learning", "held_on": "2026-12-01"}, headers=educator
    )
    coached = await c.client.post(
        f"/v1/pursuits/{pursuit_id}/coaching",
        json={"tier": "learning", "held_on": "2026-12-01", "notes": "talked through one class"},
        headers=c.as_(),
    )
    assert blocked.status_code == 409
    assert blocked.json()["current_state"] == "coaching_required"
    assert self_coached.status_code == 403
    assert coached.status_code == 201
    second = await _tier1(c, pursuit_id, educator)
    assert second["attempt"] == 2
    reviewer = second["reviews"][0]["assessor_id"]
    passed = await c.client.post(
        f"/v1/reviews/{second['reviews'][0]['id']}/scores",
        json={"scores": scores(understanding="exemplary"), "outcome": "pass"},
        headers=c.as_("assessor", reviewer),
    )
    assert passed.json()["state"] == "passed"
    again = await c.client.post(f"/v1/pursuits/{pursuit_id}/submissions", json={"tier": "learning"}, headers=educator)
    next_tier = await c.client.post(
        f"/v1/pursuits/{pursuit_id}/submissions", json={"tier": "implementation"}, headers=educator
    )
    assert again.status_code == 409
    assert next_tier.status_code == 201


async def test_uploads_are_checked_by_content_and_size(credentials: Credentials, backend: str) -> None:  # noqa: F811
    c = credentials
    pursuit_id, educator = await _setup(c)
    first = await _tier1(c, pursuit_id, educator)
    await c.client.post(
        f"/v1/reviews/{first['reviews'][0]['id']}/scores",
        json={"scores": scores()},
        headers=c.as_("assessor", first["reviews"][0]["assessor_id"]),
    )
    sid = (
        await c.client.post(f"/v1/pursuits/{pursuit_id}/submissions", json={"tier": "implementation"}, headers=educator)
    ).json()["id"]
    renamed = await c.client.post(
        f"/v1/submissions/{sid}/evidence",
        data={"requirement": "artifacts"},
        files={"file": ("lesson-plan.pdf", EXECUTABLE, "application/pdf")},
        headers=educator,
    )
    huge = await c.client.post(
        f"/v1/submissions/{sid}/evidence",
        data={"requirement": "artifacts"},
        files={"file": ("big.pdf", b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024 + 1), "application/pdf")},
        headers=educator,
    )
    document = pdf_bytes()
    good = await c.client.post(
        f"/v1/submissions/{sid}/evidence",
        data={"requirement": "artifacts"},
        files={"file": ("plan.bin", document, "application/octet-stream")},
        headers=educator,
    )
    download = await c.client.get(f"/v1/submissions/{sid}/evidence/{good.json()['id']}/content", headers=educator)
    stranger = await c.client.get(
        f"/v1/submissions/{sid}/evidence/{good.json()['id']}/content", headers=c.as_("educator", "user:someone")
    )
    assert renamed.status_code == 415
    assert renamed.json()["dangerous"] is True
    assert huge.status_code == 413
    assert good.status_code == 201, good.text
    assert good.json()["media_type"] == "application/pdf", "sniffed from content, not the name"
    assert good.json()["sha256"] == hashlib.sha256(document).hexdigest()
    assert download.content == document
    assert download.headers["content-disposition"] == 'attachment; filename="plan.bin"'
    assert stranger.status_code == 404
    listed = (await c.client.get(f"/v1/submissions/{sid}", headers=educator)).json()["evidence"]
    assert [e["id"] for e in listed] == [good.json()["id"]], "refused uploads left nothing"


@pytest.mark.parametrize("mode", ["two_stage", "double_scoring"])
async def test_two_stage_and_double_scoring(credentials: Credentials, backend: str, mode: str) -> None:  # noqa: F811
    c = credentials
    pursuit_id, educator = await _setup(c, **{mode: True})
    submitted = await _tier1(c, pursuit_id, educator)
    everything = (await c.client.get(f"/v1/submissions/{submitted['id']}", headers=c.as_())).json()
    assignments = {r["role"]: r for r in everything["reviews"]}
    primary = assignments["primary"]
    if mode == "two_stage":
        recommended = await c.client.post(
            f"/v1/reviews/{primary['id']}/scores",
            json={"scores": scores()},
            headers=c.as_("assessor", primary["assessor_id"]),
        )
        by_educator = await c.client.post(
            f"/v1/submissions/{submitted['id']}/decision", json={"decision": "grant"}, headers=educator
        )
        granted = await c.client.post(
            f"/v1/submissions/{submitted['id']}/decision", json={"decision": "grant"}, headers=c.as_()
        )
        assert recommended.json()["state"] == "recommended"
        assert by_educator.status_code == 403
        assert granted.json()["state"] == "passed"
        return
    second = assignments["second"]
    assert second["assessor_id"] != primary["assessor_id"]
    seen_by_second = (
        await c.client.get(f"/v1/submissions/{submitted['id']}", headers=c.as_("assessor", second["assessor_id"]))
    ).json()
    assert [r["role"] for r in seen_by_second["reviews"]] == ["second"], "the second scorer works blind"
    await c.client.post(
        f"/v1/reviews/{second['id']}/scores",
        json={"scores": scores(application="not_yet")},
        headers=c.as_("assessor", second["assessor_id"]),
    )
    still = (await c.client.get(f"/v1/submissions/{submitted['id']}", headers=c.as_())).json()
    decided = await c.client.post(
        f"/v1/reviews/{primary['id']}/scores",
        json={"scores": scores()},
        headers=c.as_("assessor", primary["assessor_id"]),
    )
    assert still["state"] == "in_review", "the second score does not decide"
    assert decided.json()["state"] == "passed", "the primary's does"


async def test_same_school_rule_reassignment_and_stipend_payment(credentials: Credentials, backend: str) -> None:  # noqa: F811
    c = credentials
    pursuit_id, educator = await _setup(c, assessor_from_other_school=True)
    for person, school in ((EDUCATOR, "school-1"), ("user:a1", "school-1"), ("user:a2", "school-2")):
        profile = await c.client.put(f"/v1/educators/{person}/profile", json={"school_id": school}, headers=c.as_())
        assert profile.status_code == 200, profile.text
    for assessor, school in (("user:a1", "school-1"), ("user:a2", "school-2")):
        await c.client.put(f"/v1/assessors/{assessor}", json={"school_id": school}, headers=c.as_())
    submitted = await _tier1(c, pursuit_id, educator)
    assigned = (await c.client.get(f"/v1/submissions/{submitted['id']}", headers=c.as_())).json()["reviews"][0]
    same_school = await c.client.put(
        f"/v1/submissions/{submitted['id']}/assignments/primary", json={"assessor_id": "user:a1"}, headers=c.as_()
    )
    to_educator = await c.client.put(
        f"/v1/submissions/{submitted['id']}/assignments/primary", json={"assessor_id": EDUCATOR}, headers=c.as_()
    )
    by_assessor = await c.client.put(
        f"/v1/submissions/{submitted['id']}/assignments/primary",
        json={"assessor_id": "user:a2"},
        headers=c.as_("assessor", "user:a2"),
    )
    assert assigned["assessor_id"] == "user:a2", "a1 is from the educator's school"
    assert same_school.status_code == 422
    assert to_educator.status_code == 422
    assert by_assessor.status_code == 403

    # A coordinator takes the review back from a2 and gives it to a3, a newcomer from school 3.
    await c.client.put("/v1/assessors/user:a3", json={"school_id": "school-3"}, headers=c.as_())
    moved = await c.client.put(
        f"/v1/submissions/{submitted['id']}/assignments/primary", json={"assessor_id": "user:a3"}, headers=c.as_()
    )
    old = await c.client.post(
        f"/v1/reviews/{assigned['id']}/scores", json={"scores": scores()}, headers=c.as_("assessor", "user:a2")
    )
    scored = await c.client.post(
        f"/v1/reviews/{moved.json()['id']}/scores", json={"scores": scores()}, headers=c.as_("assessor", "user:a3")
    )
    assert moved.status_code == 200, moved.text
    assert old.status_code == 404, "a withdrawn assignment cannot be scored"
    assert scored.json()["state"] == "passed"

    stipend = next(
        e for e in (await c.client.get("/v1/ledger", headers=educator)).json()["items"] if e["kind"] == "stipend"
    )
    skip = await c.client.post(f"/v1/ledger/{stipend['id']}/status", json={"status": "paid"}, headers=c.as_())
    by_educator = await c.client.post(
        f"/v1/ledger/{stipend['id']}/status", json={"status": "approved"}, headers=educator
    )
    approved = await c.client.post(f"/v1/ledger/{stipend['id']}/status", json={"status": "approved"}, headers=c.as_())
    paid = await c.client.post(
        f"/v1/ledger/{stipend['id']}/status", json={"status": "paid"}, headers=c.as_("hr", "user:hr")
    )
    assert skip.status_code == 409
    assert skip.json()["allowed_actions"] == ["approved"]
    assert by_educator.status_code == 403
    assert approved.json()["status"] == "approved"
    assert paid.json()["status"] == "paid"
