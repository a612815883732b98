"""Routes of bulk issuance: submit a file of rows, follow its job (``service.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.badges.bulk import input as bulk_input
from services.badges.bulk import service as bulk
from services.badges.deps import IdPath, Issuing, Reader, SettingsDep, UrlsDep
from services.badges.models import BulkJob
from services.badges.openbadges import documents as docs
from services.badges.schemas import JobRead, RowBadgePage, RowProblemPage
from shared.state import SessionDep

router = APIRouter()

After = Annotated[int, Query(ge=0, le=1_000_000, description="continue after this row number")]
Limit = Annotated[int, Query(ge=1, le=500)]


def _page_link(job_id: str, kind: str, after: int | None, limit: int) -> str | None:
    return None if after is None else f"/v1/jobs/{job_id}/{kind}?after={after}&limit={limit}"


async def _job_read(session: SessionDep, urls: docs.Urls, job: BulkJob, limit: int) -> JobRead:
    progress = await bulk.progress(session, job)
    problems, problems_after = await bulk.row_problems(session, job, after=0, limit=limit)
    badges, badges_after = await bulk.row_badges(session, urls, job, after=0, limit=limit)
    return JobRead(
        id=job.id,
        status=progress.status,
        source=job.source,
        total=progress.total,
        done=progress.done,
        failed=progress.failed,
        pending=progress.pending,
        replayed=progress.replayed,
        created_at=job.created_at,
        finished_at=progress.finished_at,
        errors=RowProblemPage(items=problems, next=_page_link(job.id, "errors", problems_after, limit)),
        badges=RowBadgePage(items=badges, next=_page_link(job.id, "badges", badges_after, limit)),
        links={
            "self": f"/v1/jobs/{job.id}",
            "errors": f"/v1/jobs/{job.id}/errors",
            "badges": f"/v1/jobs/{job.id}/badges",
        },
    )


@router.post(
    "/v1/badges/bulk",
    response_model=JobRead,
    status_code=202,
    summary="Issue badges in bulk: a JSON array or a CSV file of rows, each with its external_id; answers with the job",
    openapi_extra=bulk_input.OPENAPI,
    responses={200: {"model": JobRead, "description": "The same file was sent before: its job, nothing new"}},
)
async def submit_bulk(
    request: Request, response: Response, who: Issuing, session: SessionDep, settings: SettingsDep, urls: UrlsDep
) -> JobRead:
    submission = await bulk_input.read(request, max_rows=settings.bulk_max_rows)
    job, created = await bulk.submit(session, tenant_id=who.tenant_id, created_by=who.subject, submission=submission)
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    if not created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return await _job_read(session, urls, job, 100)


@router.get(
    "/v1/jobs/{job_id}", response_model=JobRead, summary="A bulk job: progress, row errors and badges (first pages)"
)
async def get_job(job_id: IdPath, who: Reader, session: SessionDep, urls: UrlsDep, limit: Limit = 100) -> JobRead:
    job = await bulk.get_job(session, who.tenant_id, job_id)
    return await _job_read(session, urls, job, limit)


@router.get("/v1/jobs/{job_id}/errors", response_model=RowProblemPage, summary="A bulk job's row errors, in row order")
async def get_job_errors(
    job_id: IdPath, who: Reader, session: SessionDep, after: After = 0, limit: Limit = 100
) -> RowProblemPage:
    job = await bulk.get_job(session, who.tenant_id, job_id)
    items, last = await bulk.row_problems(session, job, after=after, limit=limit)
    return RowProblemPage(items=items, next=_page_link(job.id, "errors", last, limit))


@router.get("/v1/jobs/{job_id}/badges", response_model=RowBadgePage, summary="A bulk job's issued badges, in row order")
async def get_job_badges(
    job_id: IdPath, who: Reader, session: SessionDep, urls: UrlsDep, after: After = 0, limit: Limit = 100
) -> RowBadgePage:
    job = await bulk.get_job(session, who.tenant_id, job_id)
    items, last = await bulk.row_badges(session, urls, job, after=after, limit=limit)
    return RowBadgePage(items=items, next=_page_link(job.id, "badges", last, limit))
