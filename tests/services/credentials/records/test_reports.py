"""Educator profiles, the tenant policy, the reports (participation, turnaround, stipends,
double-scoring agreement), the completions CSV, student-data retention — each on a small
dataset whose figures are known."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
from typing import Any

from sqlalchemy import select, update

from services.credentials.deps import credentials_state
from services.credentials.evidence.retention import purge_student_data
from services.credentials.evidence.storage import EvidenceStore
from services.credentials.ledger import service as ledger
from services.credentials.models import Award, EvidenceItem, LedgerEntry, OutboxEvent, Submission
from services.credentials.records import exports
from shared.db import utcnow
from tests.services.credentials.submissions.test_review_story import pdf_bytes, scores, words
from tests.services.credentials.test_designs_and_pursuits import DESIGN, Credentials, credentials  # noqa: F401
from tests.support import identity_headers

PASS = scores()
RETURN = scores(application="not_yet")


async def _design(c: Credentials, tiers: list[dict[str, Any]] | None = None, **settings: Any) -> str:
    body = copy.deepcopy(DESIGN)
    body["settings"].update({"learning_plan_required": False, **settings})
    if tiers is not None:
        body["tiers"] = tiers
    created = await c.client.post("/v1/credential-designs", json=body, headers=c.as_())
    assert created.status_code == 201, created.text
    published = await c.client.post(f"/v1/credential-designs/{created.json()['id']}/publish", headers=c.as_())
    assert published.status_code == 200, published.text
    return str(created.json()["id"])


async def _assessors(c: Credentials, *ids: str) -> None:
    for assessor in ids:
        assert (await c.client.put(f"/v1/assessors/{assessor}", json={}, headers=c.as_())).status_code == 200


async def _start(c: Credentials, design_id: str, educator: str, **body: Any) -> str:
    started = await c.client.post(
        "/v1/pursuits", json={"design_id": design_id, **body}, headers=c.as_("educator", educator)
    )
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


async def _submit_tier1(c: Credentials, pursuit_id: str, educator: str) -> dict[str, Any]:
    h = c.as_("educator", educator)
    sid = (await c.client.post(f"/v1/pursuits/{pursuit_id}/submissions", json={"tier": "learning"}, headers=h)).json()[
        "id"
    ]
    for requirement, n in (("summary", 550), ("next_steps", 200)):
        await c.client.post(
            f"/v1/submissions/{sid}/evidence", data={"requirement": requirement, "text": words(n)}, headers=h
        )
    submitted = await c.client.post(f"/v1/submissions/{sid}/submit", headers=h)
    assert submitted.status_code == 200, submitted.text
    return dict((await c.client.get(f"/v1/submissions/{sid}", headers=c.as_())).json())


async def _score(c: Credentials, review: dict[str, Any], levels: list[dict[str, str]]) -> dict[str, Any]:
    scored = await c.client.post(
        f"/v1/reviews/{review['id']}/scores",
        json={"scores": levels},
        headers=c.as_("assessor", review["assessor_id"]),
    )
    assert scored.status_code == 200, scored.text
    return dict(scored.json())


async def _profile(c: Credentials, educator: str, **fields: Any) -> None:
    saved = await c.client.put(f"/v1/educators/{educator}/profile", json=fields, headers=c.as_())
    assert saved.status_code == 200, saved.text


async def test_profiles_and_policy_are_kept_for_those_who_may_see_them(
    credentials: Credentials,  # noqa: F811
    backend: str,
) -> None:
    c = credentials
    body = {"external_id": "SIS-1", "state_id": "ST-9", "school_id": "s1", "school_name": "Lincoln"}
    by_educator = await c.client.put("/v1/educators/user:e1/profile", json=body, headers=c.as_("educator", "user:e1"))
    saved = await c.client.put("/v1/educators/user:e1/profile", json=body, headers=c.as_())
    own = await c.client.get("/v1/educators/user:e1/profile", headers=c.as_("educator", "user:e1"))
    hr = await c.client.get("/v1/educators/user:e1/profile", headers=c.as_("hr", "user:hr"))
    colleague = await c.client.get("/v1/educators/user:e1/profile", headers=c.as_("educator", "user:e2"))
    other_tenant = await c.client.get("/v1/educators/user:e1/profile", headers=c.as_(tenant="tenant-b"))
    assert by_educator.status_code == 403
    assert saved.status_code == 200
    assert own.json()["state_id"] == "ST-9"
    assert hr.json()["school_name"] == "Lincoln"
    assert colleague.status_code == 403
    assert other_tenant.status_code == 404

    default = (await c.client.get("/v1/reports/policy", headers=c.as_("educator", "user:e1"))).json()
    assert default == {
        "licensure_cycle_start_month": 7,
        "licensure_cycle_start_day": 1,
        "licensure_cycle_years": 5,
        "student_data_retention_days": 365,
        "updated_at": None,
    }
    changed = {**default, "licensure_cycle_start_month": 9, "student_data_retention_days": 30}
    del changed["updated_at"]
    refused = await c.client.put("/v1/reports/policy", json=changed, headers=c.as_("hr", "user:hr"))
    bad_month = await c.client.put(
        "/v1/reports/policy", json={**changed, "licensure_cycle_start_month": 13}, headers=c.as_()
    )
    put = await c.client.put("/v1/reports/policy", json=changed, headers=c.as_())
    read = (await c.client.get("/v1/reports/policy", headers=c.as_("hr", "user:hr"))).json()
    assert refused.status_code == 403
    assert bad_month.status_code == 422
    assert put.status_code == 200
    assert (read["licensure_cycle_start_month"], read["student_data_retention_days"]) == (9, 30)
    assert read["updated_at"] is not None
    other = (await c.client.get("/v1/reports/policy", headers=c.as_(tenant="tenant-b"))).json()
    assert other["student_data_retention_days"] == 365


async def test_me_names_the_signed_in_educator_and_is_refused_to_an_api_client(
    credentials: Credentials,  # noqa: F811
    backend: str,
) -> None:
    c = credentials
    await _profile(c, "user:e1", external_id="SIS-1", state_id="ST-9")
    own = await c.client.get("/v1/educators/me/profile", headers=c.as_("educator", "user:e1"))
    someone_else = await c.client.get("/v1/educators/me/profile", headers=c.as_("educator", "user:e2"))
    assert own.status_code == 200, own.text
    assert (own.json()["educator_id"], own.json()["state_id"]) == ("user:e1", "ST-9")
    assert someone_else.status_code == 404, "`me` is user:e2 there, who has no profile"
    # A coordinator syncing their own profile with `me` writes it under their own subject.
    mine = await c.client.put("/v1/educators/me/profile", json={"external_id": "SIS-C"}, headers=c.as_())
    assert mine.status_code == 200, mine.text
    assert mine.json()["educator_id"] == "user:coordinator"

    lms = identity_headers(
        c.keys_dir,
        "credentials",
        roles=frozenset(),
        scopes=frozenset({"credentials:read", "credentials:write", "records:read"}),
        subject="client:lms",
        kind="client",
    )
    for method, path in (
        ("GET", "/v1/educators/me/record"),
        ("GET", "/v1/educators/me/profile"),
        ("PUT", "/v1/educators/me/profile"),
    ):
        refused = await c.client.request(method, path, headers=lms, json={} if method == "PUT" else None)
        assert refused.status_code == 422, f"{method} {path}: {refused.text}"
        problem = refused.json()
        assert refused.headers["content-type"] == "application/problem+json"
        assert "API client" in problem["detail"]
        assert problem["errors"][0]["pointer"] == "/path/educator_id"
    by_id = await c.client.get("/v1/educators/user:e1/profile", headers=lms)
    assert by_id.status_code == 200, "an API client names the educator by id"


async def test_participation_turnaround_and_stipends_add_up(credentials: Credentials, backend: str) -> None:  # noqa: F811
    c = credentials
    design_id = await _design(c)
    await _assessors(c, "user:a1", "user:a2")
    await _profile(c, "user:e1", school_id="s1", school_name="Lincoln")
    await _profile(c, "user:e2", school_id="s1", school_name="Lincoln")
    await _profile(c, "user:e4", school_id="s2", school_name="Washington")
    # e3 has no profile: "unknown" school.
    pursuits = {e: await _start(c, design_id, e) for e in ("user:e1", "user:e2", "user:e3", "user:e4")}
    await _start(c, await _design(c), "user:e9")  # another design, filtered out below

    subs = {e: await _submit_tier1(c, pursuits[e], e) for e in ("user:e1", "user:e2", "user:e3", "user:e4")}
    assert (await _score(c, subs["user:e1"]["reviews"][0], PASS))["state"] == "passed"
    assert (await _score(c, subs["user:e2"]["reviews"][0], RETURN))["state"] == "returned"
    assert (await _score(c, subs["user:e3"]["reviews"][0], PASS))["state"] == "passed"
    # e4 waits for review.

    awards = {a["educator_id"]: a for a in (await c.client.get("/v1/awards", headers=c.as_())).json()}
    revoked = await c.client.post(
        f"/v1/awards/{awards['user:e3']['id']}/revoke", json={"reason": "integrity"}, headers=c.as_()
    )
    assert revoked.status_code == 200
    stipend = next(
        e for e in (await c.client.get("/v1/ledger?kind=stipend&educator_id=user:e1", headers=c.as_())).json()["items"]
    )
    approved = await c.client.post(f"/v1/ledger/{stipend['id']}/status", json={"status": "approved"}, headers=c.as_())
    assert approved.status_code == 200

    hr = c.as_("hr", "user:hr")
    report = await c.client.get(f"/v1/reports/participation?design_id={design_id}", headers=hr)
    assert report.status_code == 200, report.text
    rows = {r["school_name"]: r for r in report.json()["rows"]}
    assert list(rows) == ["Lincoln", "Washington", "unknown"]
    lincoln, washington, unknown = rows["Lincoln"], rows["Washington"], rows["unknown"]
    assert (lincoln["school_id"], lincoln["educators_started"]) == ("s1", 2)
    assert lincoln["pursuits_by_state"] == {"active": 2}
    assert [(t["tier_key"], t["completed"], t["completion_rate"]) for t in lincoln["tiers"]] == [
        ("learning", 1, 0.5),
        ("implementation", 0, 0.0),
        ("impact", 0, 0.0),
        ("sharing", 0, 0.0),
    ]
    assert unknown["school_id"] is None
    assert unknown["tiers"][0]["completed"] == 0, "a revoked award is no completion"
    assert washington["tiers"][0]["completion_rate"] == 0.0
    (total,) = report.json()["designs"]
    assert (total["educators_started"], total["tiers"][0]["completed"], total["tiers"][0]["completion_rate"]) == (
        4,
        1,
        0.25,
    )
    everything = (await c.client.get("/v1/reports/participation", headers=hr)).json()
    assert len(everything["designs"]) == 2
    tomorrow = (utcnow().date() + dt.timedelta(days=1)).isoformat()
    later = (await c.client.get(f"/v1/reports/participation?from={tomorrow}", headers=hr)).json()
    assert later["rows"] == []
    backwards = await c.client.get(f"/v1/reports/participation?from={tomorrow}&to=2020-01-01", headers=hr)
    by_educator = await c.client.get("/v1/reports/participation", headers=c.as_("educator", "user:e1"))
    assert backwards.status_code == 422
    assert by_educator.status_code == 403

    # Turnaround: 10, 30 and 100 hours; due dates make the first two on time, the third late;
    # e4's submission waits past its due date.
    async with credentials_state(c.app).sessionmaker() as session:
        for educator, hours, due_shift in (("user:e1", 10, 0), ("user:e2", 30, 3), ("user:e3", 100, -1)):
            row = await session.get(Submission, subs[educator]["id"])
            assert row is not None
            assert row.decided_at is not None
            row.submitted_at = row.decided_at - dt.timedelta(hours=hours)
            row.due_on = row.decided_at.date() + dt.timedelta(days=due_shift)
        waiting = await session.get(Submission, subs["user:e4"]["id"])
        assert waiting is not None
        waiting.due_on = dt.date(2020, 1, 6)
        await session.commit()
    turnaround = (await c.client.get(f"/v1/reports/turnaround?design_id={design_id}", headers=hr)).json()
    assert (turnaround["decided"], turnaround["median_hours"], turnaround["p90_hours"]) == (3, 30.0, 100.0)
    assert (turnaround["median_days"], turnaround["p90_days"]) == (1.25, 4.17)
    assert (turnaround["on_time_share"], turnaround["overdue"]) == (0.6667, 1)
    assert [d["design_id"] for d in turnaround["designs"]] == [design_id]
    none_yet = (await c.client.get("/v1/reports/turnaround?to=2020-01-01", headers=hr)).json()
    assert (none_yet["decided"], none_yet["median_hours"], none_yet["overdue"]) == (0, None, 1)

    stipends = (await c.client.get("/v1/reports/stipends", headers=hr)).json()
    assert stipends["totals"] == {"pending": 0, "approved": 7500, "paid": 0, "void": 7500}
    assert stipends["designs"] == [{"design_id": design_id, "pending": 0, "approved": 7500, "paid": 0, "void": 7500}]
    await c.client.post(f"/v1/ledger/{stipend['id']}/status", json={"status": "paid"}, headers=c.as_())
    paid = (await c.client.get(f"/v1/reports/stipends?design_id={design_id}", headers=c.as_())).json()
    assert paid["totals"] == {"pending": 0, "approved": 0, "paid": 7500, "void": 7500}
    elsewhere = (await c.client.get("/v1/reports/stipends", headers=c.as_(tenant="tenant-b"))).json()
    assert elsewhere["totals"] == {"pending": 0, "approved": 0, "paid": 0, "void": 0}


async def test_agreement_is_exact_and_adjacent_per_criterion(credentials: Credentials, backend: str) -> None:  # noqa: F811
    c = credentials
    design_id = await _design(c, double_scoring=True)
    await _assessors(c, "user:a1", "user:a2")
    submission = await _submit_tier1(c, await _start(c, design_id, "user:e1"), "user:e1")
    by_role = {r["role"]: r for r in submission["reviews"]}
    assert set(by_role) == {"primary", "second"}
    # Levels: not_yet < on_track < exemplary. Distances 0, 2, 1.
    await _score(c, by_role["second"], scores(application="exemplary", length="exemplary"))
    await _score(c, by_role["primary"], scores(application="not_yet"))
    single = await _design(c)  # scored once: not in anyone's agreement
    lone = await _submit_tier1(c, await _start(c, single, "user:e2"), "user:e2")
    await _score(c, lone["reviews"][0], PASS)

    report = await c.client.get(f"/v1/reports/agreement?design_id={design_id}", headers=c.as_("hr", "user:hr"))
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["submissions"], body["pairs"], body["exact"], body["adjacent"]) == (1, 3, 0.3333, 0.6667)
    assert [(r["criterion"], r["exact"], r["adjacent"]) for r in body["criteria"]] == [
        ("understanding", 1.0, 1.0),
        ("application", 0.0, 0.0),
        ("length", 0.0, 1.0),
    ]
    nothing = (await c.client.get(f"/v1/reports/agreement?design_id={single}", headers=c.as_())).json()
    assert (nothing["submissions"], nothing["exact"], nothing["criteria"]) == (0, None, [])
    missing = await c.client.get("/v1/reports/agreement?design_id=nope", headers=c.as_())
    foreign = await c.client.get(f"/v1/reports/agreement?design_id={design_id}", headers=c.as_(tenant="tenant-b"))
    assert (missing.status_code, foreign.status_code) == (404, 404)


def _attendance(educator: str, day: dt.date, minutes: int, title: str, **extra: Any) -> dict[str, Any]:
    return {
        "tenant_id": "tenant-a",
        "educator_id": educator,
        "kind": "pd_minutes",
        "amount": minutes,
        "status": "recorded",
        "source": "attendance",
        "source_id": f"att-{educator}-{day}-{title[:5]}",
        "source_recorded_at": utcnow(),
        "activity_title": title,
        "occurred_on": day,
        **extra,
    }


async def test_the_completions_export_streams_safe_csv(credentials: Credentials, backend: str) -> None:  # noqa: F811
    c = credentials
    await _profile(c, "user:e1", external_id="SIS-1", state_id="ST-9", display_name="Ann Lee", school_name="Lincoln")
    march = dt.date(2026, 3, 2)
    async with credentials_state(c.app).sessionmaker() as session:
        entries = [
            _attendance(
                "user:e1",
                march,
                90,
                '=HYPERLINK("http://evil.example")',
                provider_name="District PD",
                provider_number="PN-1",
                credits=1.5,
            ),
            _attendance("user:e2", march + dt.timedelta(days=3), 50, "Café talk — ünïcode", provider_name="+Provider"),
            _attendance("user:e2", march + dt.timedelta(days=3), 30, "@second the same day"),
            _attendance("user:e1", march + dt.timedelta(days=1), 45, "voided"),
            _attendance("user:e1", dt.date(2026, 5, 1), 60, "after the window"),
            {**_attendance("user:e1", march, 7500, "a stipend"), "kind": "stipend", "status": "pending"},
            {**_attendance("user:e1", march, 60, "elsewhere"), "tenant_id": "tenant-b"},
        ]
        for entry in entries:
            await ledger.record(session, **entry)
        await session.execute(update(LedgerEntry).where(LedgerEntry.activity_title == "voided").values(status="void"))
        await session.commit()

    hr = c.as_("hr", "user:hr")
    exported = await c.client.get("/v1/exports/completions.csv?from=2026-03-01&to=2026-03-31", headers=hr)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"] == "attachment; filename=completions-2026-03-01-2026-03-31.csv"
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8"))))
    assert rows[0] == list(exports.EXPORT_COLUMNS)
    assert rows[1] == [
        "user:e1",
        "SIS-1",
        "ST-9",
        "Ann Lee",
        "Lincoln",
        '\'=HYPERLINK("http://evil.example")',
        "District PD",
        "PN-1",
        "2026-03-02",
        "90",
        "1.50",
        "1.5",
        "",
    ]
    assert len(rows) == 4, "void entries, stipends, other tenants and days outside the window are left out"
    same_day = sorted(rows[2:], key=lambda r: r[5])
    assert [r[5] for r in same_day] == ["'@second the same day", "Café talk — ünïcode"]
    assert same_day[1][6] == "'+Provider"
    assert (same_day[1][1], same_day[1][4], same_day[1][10]) == ("", "", "0.83")

    # Keyset paging gives the same rows, one batch at a time.
    chunks = [
        chunk
        async for chunk in exports.completion_csv(
            credentials_state(c.app).sessionmaker, "tenant-a", dt.date(2026, 3, 1), dt.date(2026, 3, 31), batch_size=1
        )
    ]
    assert len(chunks) == 1 + 3, "a header, then three batches of one row"
    assert b"".join(chunks) == exported.content

    # An award's minutes carry its credential's URL.
    design_id = await _design(c)
    await _assessors(c, "user:a1")
    submission = await _submit_tier1(c, await _start(c, design_id, "user:e1"), "user:e1")
    await _score(c, submission["reviews"][0], PASS)
    async with credentials_state(c.app).sessionmaker() as session:
        await session.execute(
            update(Award)
            .where(Award.submission_id == submission["id"])
            .values(badge_status="issued", badge_links={"credential": "https://x.example/ob/credentials/b1"})
        )
        await session.commit()
    today = utcnow().date().isoformat()
    awarded = await c.client.get(f"/v1/exports/completions.csv?from={today}&to={today}", headers=c.as_())
    (award_row,) = list(csv.reader(io.StringIO(awarded.text)))[1:]
    assert (award_row[9], award_row[10], award_row[12]) == ("300", "5.00", "https://x.example/ob/credentials/b1")

    backwards = await c.client.get("/v1/exports/completions.csv?from=2026-04-01&to=2026-03-01", headers=hr)
    by_educator = await c.client.get(
        "/v1/exports/completions.csv?from=2026-03-01&to=2026-03-31", headers=c.as_("educator", "user:e1")
    )
    no_range = await c.client.get("/v1/exports/completions.csv", headers=hr)
    assert backwards.status_code == 422
    assert by_educator.status_code == 403
    assert no_range.status_code == 422


def test_csv_cells_that_would_run_as_formulas_are_quoted() -> None:
    assert [exports.safe_cell(v) for v in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx", "a=b", None, 90)] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@A1",
        "'\tx",
        "'\rx",
        "a=b",
        "",
        "90",
    ]


STUDENT_TIER: dict[str, Any] = {
    "key": "impact",
    "title": "Impact on students",
    "description": "Show what changed for students.",
    "evidence": [
        {
            "key": "data",
            "kind": "student_data",
            "prompt": "Your class's results, before and after.",
            "allowed_types": ["text/csv"],
        },
        {"key": "artifact", "kind": "file", "prompt": "A lesson artifact.", "allowed_types": ["application/pdf"]},
        {"key": "class_video", "kind": "link", "prompt": "A video of the class.", "contains_student_information": True},
        {"key": "shared_where", "kind": "link", "prompt": "Where you shared it."},
    ],
    "rubric": {"criteria": copy.deepcopy(DESIGN["tiers"][0]["rubric"]["criteria"])},
    "pd_minutes": 60,
    "achievement_id": "ach-impact",
}


async def _student_submission(c: Credentials, design_id: str, educator: str) -> dict[str, Any]:
    h = c.as_("educator", educator)
    pursuit_id = await _start(c, design_id, educator, recipient_email="e@demo.test")
    sid = (await c.client.post(f"/v1/pursuits/{pursuit_id}/submissions", json={"tier": "impact"}, headers=h)).json()[
        "id"
    ]
    uploads = [
        {"data": {"requirement": "data"}, "files": {"file": ("scores.csv", b"student,score\nA,3\nB,4\n", "text/csv")}},
        {"data": {"requirement": "artifact"}, "files": {"file": ("lesson.pdf", pdf_bytes(), "application/pdf")}},
        {"data": {"requirement": "class_video", "url": "https://video.example/class"}},
        {"data": {"requirement": "shared_where", "url": "https://blog.example/lesson"}},
    ]
    for upload in uploads:
        added = await c.client.post(f"/v1/submissions/{sid}/evidence", headers=h, **upload)
        assert added.status_code == 201, added.text
    submitted = await c.client.post(f"/v1/submissions/{sid}/submit", json={"evidence_public": True}, headers=h)
    assert submitted.status_code == 200, submitted.text
    review = (await c.client.get(f"/v1/submissions/{sid}", headers=c.as_())).json()["reviews"][0]
    assert (await _score(c, review, PASS))["state"] == "passed"
    return dict((await c.client.get(f"/v1/submissions/{sid}", headers=c.as_())).json())


async def test_student_data_is_never_in_events_and_is_deleted_after_retention(
    credentials: Credentials,  # noqa: F811
    backend: str,
) -> None:
    c = credentials
    store: EvidenceStore = credentials_state(c.app).evidence_store
    design_id = await _design(c, [copy.deepcopy(STUDENT_TIER)])
    await _assessors(c, "user:a1")
    old = await _student_submission(c, design_id, "user:e1")
    recent = await _student_submission(c, design_id, "user:e2")

    async with credentials_state(c.app).sessionmaker() as session:
        payloads = list(
            await session.scalars(select(OutboxEvent.payload).where(OutboxEvent.event_type == "award.granted"))
        )
    assert len(payloads) == 2
    for payload in payloads:
        assert [e["url"] for e in payload["evidence"]] == ["https://blog.example/lesson"], (
            "public links go on the badge; student data never does"
        )

    now = utcnow()
    async with credentials_state(c.app).sessionmaker() as session:
        for submission, age in ((old, 400), (recent, 100)):
            await session.execute(
                update(Submission)
                .where(Submission.id == submission["id"])
                .values(decided_at=now - dt.timedelta(days=age))
            )
        await session.commit()

    async def files(submission: dict[str, Any]) -> dict[str, tuple[str | None, dt.datetime | None, str | None]]:
        async with credentials_state(c.app).sessionmaker() as session:
            rows = await session.scalars(select(EvidenceItem).where(EvidenceItem.submission_id == submission["id"]))
            return {i.requirement_key: (i.storage_key, i.purged_at, i.sha256) for i in rows if i.sha256}

    before = {"old": await files(old), "recent": await files(recent)}
    assert await purge_student_data(credentials_state(c.app).sessionmaker, store, now=now) == 1
    after = {"old": await files(old), "recent": await files(recent)}
    old_data_key = before["old"]["data"][0]
    assert old_data_key is not None
    assert not await store.exists(old_data_key)
    assert after["old"]["data"][:2] == (None, now)
    assert after["old"]["data"][2] == before["old"]["data"][2], "the hash stays as proof of what was there"
    assert after["old"]["artifact"] == before["old"]["artifact"], "files without student data stay"
    assert after["recent"] == before["recent"], "within the default 365 days"
    for key, _, _ in (before["old"]["artifact"], *before["recent"].values()):
        assert key is not None
        assert await store.exists(key)
    assert await purge_student_data(credentials_state(c.app).sessionmaker, store, now=now) == 0, "nothing twice"

    # A district keeping student data only 30 days: the recent one goes too.
    policy = await c.client.put("/v1/reports/policy", json={"student_data_retention_days": 30}, headers=c.as_())
    assert policy.status_code == 200
    assert await purge_student_data(credentials_state(c.app).sessionmaker, store, now=now) == 1
    recent_key = before["recent"]["data"][0]
    assert recent_key is not None
    assert not await store.exists(recent_key)
    assert (await files(recent))["artifact"] == before["recent"]["artifact"]
