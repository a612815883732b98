"""Bulk issuance: POST /v1/badges/bulk (JSON or CSV) → a job; the worker issues its rows.

The app runs inside the test's transaction (``make_app``), so its background worker is off and
each test drives the worker itself (``drain``) — the same code the lifespan task runs. Races
between workers and a real crash are in test_bulk_workers.py and test_bulk_crash.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.badges.bulk import runner as bulk_run
from services.badges.deps import badges_state
from services.badges.models import Badge, BulkJob, IdempotencyKey
from tests.services.badges.conftest import Badges

FILE_REFUSED = "https://practicum.dev/problems/badges/bulk-file-refused"
VALIDATION = "https://practicum.dev/problems/validation"
DUPLICATE = "https://practicum.dev/problems/badges/duplicate-external-id"
NOT_FOUND = "https://practicum.dev/problems/not-found"
MISMATCH = "https://practicum.dev/problems/badges/idempotency-mismatch"
NOT_REPRESENTABLE = "https://practicum.dev/problems/badges/not-representable"


async def drain(badges: Badges, tenant: str = "tenant-a") -> int:
    """Run the app's bulk worker until nothing is pending; how many rows of the tenant it claimed
    (rows another test left committed would be done too, and not counted)."""
    worker = bulk_run.worker_for(badges.app)
    claimed = 0
    while batch := await worker.claim():
        await worker.issue(batch)
        claimed += sum(1 for row in batch if row.tenant_id == tenant)
    return claimed


def good_row(achievement_id: str, n: int, **overrides: Any) -> dict[str, Any]:
    return {
        "external_id": f"sis-{n:05d}",
        "achievement_id": achievement_id,
        "recipient": {"email": f"Educator{n}@Demo.Test", "name": f"Educator {n}"},
        "results": [{"criterion": "plan", "level": "proficient"}],
        "evidence": [{"url": f"https://portfolio.example/ed{n}/lesson", "name": "Lesson plan"}],
        "narrative": f"Row {n} of the academy.",
        "valid_until": "2030-06-30T00:00:00Z",
        **overrides,
    }


async def job(badges: Badges, job_id: str, **params: Any) -> dict[str, Any]:
    response = await badges.client.get(f"/v1/jobs/{job_id}", params=params, headers=badges.as_())
    assert response.status_code == 200, response.text
    return dict(response.json())


async def every(badges: Badges, first: dict[str, Any]) -> list[dict[str, Any]]:
    """All items of a paged list, following ``next``."""
    items, page = list(first["items"]), first
    while page["next"]:
        response = await badges.client.get(page["next"], headers=badges.as_())
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
    return items


async def tenant_badges(badges: Badges, tenant: str = "tenant-a") -> int:
    async with badges_state(badges.app).sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Badge).where(Badge.tenant_id == tenant)) or 0)


async def test_good_rows_issue_and_bad_rows_are_reported_by_row_number(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = (await badges.achievement(issuer["id"]))["id"]
    rows = [good_row(achievement, n) for n in range(1, 201)]
    rows[9]["recipient"] = {"email": "not-an-email"}  # row 10: refused at submission
    rows[49]["external_id"] = rows[48]["external_id"]  # row 50: the id of row 49 again
    rows[99]["achievement_id"] = "3f2e1d0c-9b8a-4766-8554-433221100fed"  # row 100: no such achievement
    rows[149]["results"] = [{"criterion": "plan", "level": "mastery"}]  # row 150: not a level of the rubric
    rows[199]["narrative"] = "bell \x07 ringing"  # row 200: no credential can carry it
    badges_state(badges.app).settings.bulk_batch_size = 64  # several batches, one of them short

    submitted = await badges.client.post("/v1/badges/bulk", json=rows, headers=badges.as_())
    assert submitted.status_code == 202, submitted.text
    created = submitted.json()
    assert submitted.headers["location"] == f"/v1/jobs/{created['id']}"
    # Refused at submission already: reported before any worker ran.
    assert (created["status"], created["total"], created["failed"], created["pending"]) == ("queued", 200, 2, 198)

    assert await drain(badges) == 198
    done = await job(badges, created["id"])
    assert (done["status"], done["done"], done["failed"], done["pending"], done["replayed"]) == ("done", 195, 5, 0, 0)
    assert done["finished_at"] is not None
    errors = {e["row"]: e for e in done["errors"]["items"]}
    assert sorted(errors) == [10, 50, 100, 150, 200]
    assert errors[10]["type"] == VALIDATION
    assert errors[10]["external_id"] == "sis-00010"
    assert errors[10]["errors"] == [{"pointer": "/recipient/email", "detail": "not an email address"}]
    assert errors[50]["type"] == DUPLICATE
    assert errors[50]["errors"][0]["detail"] == "also on row 49"
    assert errors[100]["type"] == NOT_FOUND
    assert errors[150]["type"] == VALIDATION
    assert errors[150]["errors"] == [{"pointer": "/results/0/level", "detail": "not a level of this criterion"}]
    assert errors[200]["type"] == NOT_REPRESENTABLE
    assert errors[200]["errors"][0]["pointer"] == "/narrative"

    issued = await every(badges, done["badges"])
    assert [b["row"] for b in issued] == [n for n in range(1, 201) if n not in errors]
    assert len({b["badge_id"] for b in issued}) == 195
    assert await tenant_badges(badges) == 195
    # Each row's badge is the badge of that row: its recipient, its evidence.
    sample = issued[41]
    badge = await badges.client.get(sample["links"]["badge"], headers=badges.as_())
    assert badge.status_code == 200, badge.text
    credential = badge.json()["credential"]
    assert credential["evidence"][0]["id"] == f"https://portfolio.example/ed{sample['row']}/lesson"
    assert credential["validUntil"] == "2030-06-30T00:00:00Z"
    report = await badges.client.post(
        "/v1/verify", json={"credential": credential, "recipient": f"educator{sample['row']}@demo.test"}
    )
    assert report.status_code == 200, report.text
    assert report.json()["verified"] is True, report.json()
    assert report.json()["recipient_matched"] is True


async def test_csv_rows_with_results_and_evidence_columns(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = (await badges.achievement(issuer["id"]))["id"]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(
        [
            "External_ID",
            "achievement_id",
            "recipient_email",
            "recipient_name",
            "result.plan",
            "evidence_url",
            "narrative",
            "valid_until",
        ]
    )
    writer.writerow(
        [
            "a-1",
            achievement,
            "one@demo.test",
            "Ana One",
            "proficient",
            "https://portfolio.example/a1",
            'Led, with "quotes"\nand a new line',
            "2031-01-01T00:00:00Z",
        ]
    )
    writer.writerow(["a-2", achievement, "two@demo", "", "developing", "", "", ""])  # not an email
    writer.writerow(["", "", "", "", "", "", "", ""])  # blank: counted, not a row
    writer.writerow(["a-4", achievement, "four@demo.test", "", "excellent", "", "", ""])  # not a level
    writer.writerow(["a-5", achievement, "", "", "proficient", "", "", "next year"])  # no recipient, no date
    body = "\ufeff" + text.getvalue()  # as Excel saves it

    submitted = await badges.client.post(
        "/v1/badges/bulk", content=body.encode(), headers={**badges.as_(), "content-type": "text/csv; charset=utf-8"}
    )
    assert submitted.status_code == 202, submitted.text
    await drain(badges)
    done = await job(badges, submitted.json()["id"])
    assert (done["source"], done["total"], done["done"], done["failed"]) == ("csv", 4, 1, 3)
    errors = {e["row"]: e["errors"] for e in done["errors"]["items"]}
    # Pointers name the CSV columns a person fixes.
    assert errors[2] == [{"pointer": "/recipient_email", "detail": "not an email address"}]
    assert errors[4] == [{"pointer": "/result.plan", "detail": "not a level of this criterion"}]
    assert {e["pointer"] for e in errors[5]} == {"/recipient_email", "/valid_until"}
    [issued] = done["badges"]["items"]
    assert (issued["row"], issued["external_id"]) == (1, "a-1")
    badge = (await badges.client.get(issued["links"]["badge"], headers=badges.as_())).json()
    subject = badge["credential"]["credentialSubject"]
    assert subject["narrative"] == 'Led, with "quotes"\nand a new line'
    assert subject["result"][0]["achievedLevel"].endswith("#plan.proficient")
    assert badge["credential"]["evidence"][0]["id"] == "https://portfolio.example/a1"


async def test_multipart_upload_of_a_csv_or_json_file(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = (await badges.achievement(issuer["id"]))["id"]
    csv_file = f"external_id;achievement_id;recipient_id\nm-1;{achievement};did:example:educator1\n"  # ';' separated
    first = await badges.client.post(
        "/v1/badges/bulk",
        files={"file": ("academy.csv", csv_file.encode(), "application/vnd.ms-excel")},
        headers=badges.as_(),
    )
    assert first.status_code == 202, first.text
    assert (first.json()["source"], first.json()["total"]) == ("csv", 1)
    json_file = httpx.Request("POST", "/", json=[good_row(achievement, 2)]).content
    second = await badges.client.post(
        "/v1/badges/bulk", files={"file": ("rows", json_file, "application/octet-stream")}, headers=badges.as_()
    )
    assert second.status_code == 202, second.text
    assert second.json()["source"] == "json"
    await drain(badges)
    for submitted in (first, second):
        assert (await job(badges, submitted.json()["id"]))["done"] == 1


@pytest.mark.parametrize(
    ("content_type", "body", "status", "detail"),
    [
        ("text/csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", 422, "not UTF-8 text"),
        ("text/csv", b"external_id,achievement_id\nx,y\n", 422, "missing columns: recipient_email or recipient_id"),
        ("text/csv", b"external_id,achievement_id,recipient_emial\nx,y,z\n", 422, "unknown columns: recipient_emial"),
        ("text/csv", b"external_id,achievement_id,recipient_id\n", 422, "no rows"),
        ("text/csv", b"", 422, "no header row"),
        ("text/csv", b'external_id,achievement_id,recipient_id\n"x,y,did:example:1\n', 422, "not valid CSV"),
        ("application/json", b'{"external_id": "x"}', 422, "JSON array"),
        ("application/json", b"[{", 422, "not valid JSON"),
        ("application/json", b"[]", 422, "no rows"),
        ("image/png", b"\x89PNG\r\n", 415, "not image/png"),
    ],
    ids=[
        "binary-as-csv",
        "no-recipient-column",
        "misspelt-column",
        "header-only",
        "empty",
        "open-quote",
        "object",
        "broken-json",
        "empty-array",
        "png",
    ],
)
async def test_a_file_of_the_wrong_shape_is_refused_before_a_job_exists(
    badges: Badges, backend: str, content_type: str, body: bytes, status: int, detail: str
) -> None:
    response = await badges.client.post(
        "/v1/badges/bulk", content=body, headers={**badges.as_(), "content-type": content_type}
    )
    assert response.status_code == status, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in problem["detail"]
    if status == 422:
        assert problem["type"] == FILE_REFUSED
    async with badges_state(badges.app).sessionmaker() as session:
        jobs = select(func.count()).select_from(BulkJob).where(BulkJob.tenant_id == "tenant-a")
        assert await session.scalar(jobs) == 0


async def test_more_rows_than_a_job_takes_are_refused(make_app: Any, keys_dir: Any, backend: str) -> None:
    from tests.support import asgi_client

    app = await make_app("badges", bulk_max_rows=10)
    async with asgi_client(app) as client:
        small = Badges(app=app, client=client, keys_dir=keys_dir)
        rows = [good_row("x", n) for n in range(11)]
        as_json = await client.post("/v1/badges/bulk", json=rows, headers=small.as_())
        lines = "external_id,achievement_id,recipient_id\n" + "".join(f"r{n},x,did:example:{n}\n" for n in range(11))
        as_csv = await client.post(
            "/v1/badges/bulk", content=lines, headers={**small.as_(), "content-type": "text/csv"}
        )
        for response in (as_json, as_csv):
            assert response.status_code == 422, response.text
            assert "at most 10" in response.json()["detail"]
        fits = await client.post("/v1/badges/bulk", json=rows[:10], headers=small.as_())
        assert fits.status_code == 202, fits.text


async def test_the_same_file_twice_is_one_job_and_external_ids_issue_once(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = (await badges.achievement(issuer["id"]))["id"]
    rows = [good_row(achievement, n) for n in range(1, 6)]
    rows[2]["recipient"] = {"email": "broken"}

    first = await badges.client.post("/v1/badges/bulk", json=rows, headers=badges.as_())
    again = await badges.client.post("/v1/badges/bulk", json=rows, headers=badges.as_())
    assert (first.status_code, again.status_code) == (202, 200), again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    await drain(badges)
    assert await tenant_badges(badges) == 4
    after = await badges.client.post("/v1/badges/bulk", json=rows, headers=badges.as_())
    assert (after.status_code, after.json()["id"], after.json()["done"]) == (200, first.json()["id"], 4)
    assert await drain(badges) == 0

    # The file corrected (row 3 fixed) and one row changed: a new job; only row 3 issues, the
    # changed row is refused, the others are the badges issued before.
    corrected = [dict(row) for row in rows]
    corrected[2]["recipient"] = {"email": "three@demo.test"}
    corrected[4] = {**corrected[4], "narrative": "Something else."}
    second = await badges.client.post("/v1/badges/bulk", json=corrected, headers=badges.as_())
    assert second.status_code == 202, second.text
    await drain(badges)
    result = await job(badges, second.json()["id"])
    assert (result["done"], result["failed"], result["replayed"]) == (4, 1, 3)
    [refused] = result["errors"]["items"]
    assert (refused["row"], refused["type"]) == (5, MISMATCH)
    earlier = {b["external_id"]: b["badge_id"] for b in (await job(badges, first.json()["id"]))["badges"]["items"]}
    now = {b["external_id"]: (b["badge_id"], b["replayed"]) for b in result["badges"]["items"]}
    assert now["sis-00003"][1] is False
    assert now["sis-00003"][0] not in earlier.values()
    for external_id in ("sis-00001", "sis-00002", "sis-00004"):
        assert now[external_id] == (earlier[external_id], True)
    assert await tenant_badges(badges) == 5
    async with badges_state(badges.app).sessionmaker() as session:
        keys = await session.scalars(select(IdempotencyKey.key).where(IdempotencyKey.tenant_id == "tenant-a"))
        assert sorted(keys) == [f"bulk:sis-0000{n}" for n in range(1, 6)]


async def test_jobs_are_tenant_scoped_and_paged(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = (await badges.achievement(issuer["id"]))["id"]
    rows = [good_row(achievement, n) for n in range(1, 8)]
    for n in (2, 4, 6):
        rows[n - 1]["achievement_id"] = "missing"
    submitted = await badges.client.post("/v1/badges/bulk", json=rows, headers=badges.as_())
    job_id = submitted.json()["id"]
    await drain(badges)

    first = await job(badges, job_id, limit=2)
    assert [e["row"] for e in first["errors"]["items"]] == [2, 4]
    assert first["errors"]["next"] == f"/v1/jobs/{job_id}/errors?after=4&limit=2"
    assert [e["row"] for e in await every(badges, first["errors"])] == [2, 4, 6]
    assert [b["row"] for b in await every(badges, first["badges"])] == [1, 3, 5, 7]

    other = badges.as_(tenant="tenant-b")
    for path in (f"/v1/jobs/{job_id}", f"/v1/jobs/{job_id}/errors", f"/v1/jobs/{job_id}/badges"):
        response = await badges.client.get(path, headers=other)
        assert response.status_code == 404, response.text
    reader = badges.as_(roles=frozenset({"educator"}))
    assert (await badges.client.post("/v1/badges/bulk", json=rows, headers=reader)).status_code == 403


async def test_rows_of_several_achievements_and_issuers_share_the_lists_without_collisions(
    badges: Badges, backend: str
) -> None:
    plain = await badges.issuer()
    suspendable = await badges.issuer(name="Lincoln High School", suspendable=True)
    first = (await badges.achievement(plain["id"]))["id"]
    second = (await badges.achievement(plain["id"], name="Formative Assessment — Tier 2"))["id"]
    third = (await badges.achievement(suspendable["id"]))["id"]
    rows = [good_row((first, second, third)[n % 3], n) for n in range(1, 91)]
    submitted = await badges.client.post("/v1/badges/bulk", json=rows, headers=badges.as_())
    assert submitted.status_code == 202, submitted.text
    await drain(badges)
    assert (await job(badges, submitted.json()["id"]))["done"] == 90
    async with badges_state(badges.app).sessionmaker() as session:
        found = (await session.execute(select(Badge).where(Badge.tenant_id == "tenant-a"))).scalars().all()
    slots = [(b.revocation_list_id, b.revocation_index) for b in found]
    slots += [(b.suspension_list_id, b.suspension_index) for b in found if b.suspension_list_id]
    assert len(slots) == len(set(slots)) == 90 + 30
    assert len({b.revocation_list_id for b in found}) == 2, "one revocation list per issuer"
    for badge in found:  # each credential names the slot its row holds
        entries = badge.credential["credentialStatus"]
        entries = entries if isinstance(entries, list) else [entries]
        indexes = {e["statusPurpose"]: int(e["statusListIndex"]) for e in entries}
        assert indexes["revocation"] == badge.revocation_index
        assert indexes.get("suspension") == badge.suspension_index


async def test_an_index_taken_between_drawing_and_writing_is_drawn_again(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = (await badges.achievement(issuer["id"]))["id"]
    single = await badges.issue(achievement)  # opens the issuer's list
    assert single.status_code == 201, single.text
    submitted = await badges.client.post(
        "/v1/badges/bulk", json=[good_row(achievement, n) for n in range(1, 4)], headers=badges.as_()
    )
    worker = bulk_run.worker_for(badges.app)
    claimed = await worker.claim()
    groups = await worker._prepare(claimed)
    await worker._sign(groups)
    async with badges_state(badges.app).sessionmaker() as session:
        taken = await session.get(Badge, single.json()["id"])
        assert taken is not None
    # As if the single badge had taken this index after the worker drew it.
    assert claimed[1].badge is not None
    claimed[1].badge.revocation_index = taken.revocation_index
    await worker._write(claimed, groups)

    done = await job(badges, submitted.json()["id"])
    assert done["done"] == 3
    redrawn = await badges.client.get(done["badges"]["items"][1]["links"]["badge"], headers=badges.as_())
    credential = redrawn.json()["credential"]
    assert int(credential["credentialStatus"]["statusListIndex"]) != taken.revocation_index
    report = await badges.client.post("/v1/verify", json={"credential": credential})
    assert report.json()["verified"] is True, report.json()


async def test_a_row_whose_validity_has_ended_is_refused_on_its_own(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = (await badges.achievement(issuer["id"]))["id"]
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    rows = [good_row(achievement, 1), good_row(achievement, 2, valid_until=yesterday), good_row(achievement, 3)]
    csv_file = f"external_id,achievement_id,recipient_email,valid_until\nc-1,{achievement},c1@demo.test,{yesterday}\n"

    as_json = await badges.client.post("/v1/badges/bulk", json=rows, headers=badges.as_())
    as_csv = await badges.client.post(
        "/v1/badges/bulk", content=csv_file.encode(), headers={**badges.as_(), "content-type": "text/csv"}
    )
    await drain(badges)
    json_job = await job(badges, as_json.json()["id"])
    csv_job = await job(badges, as_csv.json()["id"])

    assert (json_job["done"], json_job["failed"]) == (2, 1)
    [refused] = json_job["errors"]["items"]
    assert (refused["row"], refused["external_id"], refused["type"]) == (2, "sis-00002", VALIDATION)
    assert [e["pointer"] for e in refused["errors"]] == ["/valid_until"]
    assert "is in the past" in refused["detail"]
    assert [b["row"] for b in json_job["badges"]["items"]] == [1, 3], "the other rows are issued"
    assert (csv_job["done"], csv_job["failed"]) == (0, 1)
    assert [e["pointer"] for e in csv_job["errors"]["items"][0]["errors"]] == ["/valid_until"], "the CSV column"
