"""HTTP routes of the learning record, educator profiles, the tenant policy, reports and the
completions export."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from services.credentials.deps import Educator, Reader, RecordsReader, SessionmakerDep, Writer
from services.credentials.records import exports, profiles, reports, service
from services.credentials.roles import is_coordinator
from services.credentials.schemas import (
    AgreementReport,
    EducatorProfileRead,
    EducatorProfileWrite,
    LearningRecord,
    ParticipationReport,
    StipendReport,
    TenantPolicyRead,
    TenantPolicyWrite,
    TurnaroundReport,
)
from shared.auth import Forbidden
from shared.db import utcnow
from shared.params import IsoDate
from shared.problems import FieldError, UnprocessableContent
from shared.state import SessionDep

router = APIRouter()

DesignQuery = Annotated[str | None, Query(max_length=36)]
FromQuery = Annotated[IsoDate | None, Query(alias="from", description="on or after (UTC day)")]
ToQuery = Annotated[IsoDate | None, Query(alias="to", description="on or before (UTC day)")]


def _window(start: dt.date | None, end: dt.date | None) -> None:
    if start is not None and end is not None and start > end:
        raise UnprocessableContent(
            "`from` is after `to`",
            errors=[FieldError(pointer="/query/from", detail="must be on or before `to`")],
        )


# --- the learning record --------------------------------------------------------------------


@router.get(
    "/v1/educators/{educator_id}/record",
    response_model=LearningRecord,
    summary="An educator's learning record: pursuits, awards and badges, PD minutes per cycle, stipends, goals",
)
async def learning_record(educator_id: Educator, who: RecordsReader, session: SessionDep) -> LearningRecord:
    found = await service.learning_record(session, who, educator_id, utcnow().date())
    return LearningRecord.model_validate(found)


# --- educator profiles ------------------------------------------------------------------------


@router.put(
    "/v1/educators/{educator_id}/profile",
    response_model=EducatorProfileRead,
    summary="Sync an educator's profile from the LMS/SIS (ids, school, name) — coordinators and API clients",
)
async def put_profile(
    educator_id: Educator, body: EducatorProfileWrite, who: Writer, session: SessionDep
) -> EducatorProfileRead:
    if not is_coordinator(who):
        raise Forbidden("profiles are synced by coordinators and the district's systems")
    row = await profiles.save_profile(session, tenant_id=who.tenant_id, educator_id=educator_id, body=body)
    return profiles.profile_read(row)


@router.get(
    "/v1/educators/{educator_id}/profile",
    response_model=EducatorProfileRead,
    summary="An educator's profile (the educator, coordinators and HR)",
)
async def get_profile(educator_id: Educator, who: Reader, session: SessionDep) -> EducatorProfileRead:
    return profiles.profile_read(await service.profile(session, who, educator_id))


# --- tenant policy ----------------------------------------------------------------------------


@router.get("/v1/reports/policy", response_model=TenantPolicyRead, summary="Licensure cycle and retention policy")
async def get_policy(who: RecordsReader, session: SessionDep) -> TenantPolicyRead:
    return await profiles.policy(session, who.tenant_id)


@router.put("/v1/reports/policy", response_model=TenantPolicyRead, summary="Set the policy (coordinators)")
async def put_policy(body: TenantPolicyWrite, who: Writer, session: SessionDep) -> TenantPolicyRead:
    if not is_coordinator(who):
        raise Forbidden("the policy is set by coordinators")
    return await profiles.save_policy(session, who.tenant_id, body)


# --- reports ----------------------------------------------------------------------------------


@router.get(
    "/v1/reports/participation",
    response_model=ParticipationReport,
    summary="Participation and completion per school and design (pursuits started in the window)",
)
async def participation(
    who: RecordsReader,
    session: SessionDep,
    design_id: DesignQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
) -> ParticipationReport:
    _window(start, end)
    return await reports.participation(
        session, service.reporter(who).tenant_id, design_id=design_id, started_from=start, started_to=end
    )


@router.get(
    "/v1/reports/turnaround",
    response_model=TurnaroundReport,
    summary="Review turnaround: median and p90 from submission to decision, on-time share, overdue now",
)
async def turnaround(
    who: RecordsReader,
    session: SessionDep,
    design_id: DesignQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
) -> TurnaroundReport:
    _window(start, end)
    return await reports.turnaround(
        session, service.reporter(who).tenant_id, design_id=design_id, decided_from=start, decided_to=end
    )


@router.get("/v1/reports/stipends", response_model=StipendReport, summary="Stipend totals (cents) by status")
async def stipends(
    who: RecordsReader,
    session: SessionDep,
    design_id: DesignQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
) -> StipendReport:
    _window(start, end)
    return await reports.stipends(
        session, service.reporter(who).tenant_id, design_id=design_id, occurred_from=start, occurred_to=end
    )


@router.get(
    "/v1/reports/agreement",
    response_model=AgreementReport,
    summary="Double-scoring agreement of a design: exact and adjacent, per criterion and overall",
)
async def agreement(
    who: RecordsReader, session: SessionDep, design_id: Annotated[str, Query(min_length=1, max_length=36)]
) -> AgreementReport:
    tenant_id = service.reporter(who).tenant_id
    await service.ensure_design(session, tenant_id, design_id)
    return await reports.agreement(session, tenant_id, design_id)


# --- completions export -----------------------------------------------------------------------


@router.get(
    "/v1/exports/completions.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "one row per PD-minutes entry"}},
    summary="PD completions for HR and licensure (CSV, streamed), by the day they happened",
)
async def completions_csv(
    sessionmaker: SessionmakerDep,
    who: RecordsReader,
    start: Annotated[dt.date, Query(alias="from", description="on or after")],
    end: Annotated[dt.date, Query(alias="to", description="on or before")],
) -> StreamingResponse:
    _window(start, end)
    tenant_id = service.reporter(who).tenant_id
    # The body streams after this returns: it reads in a session of its own.
    body = exports.completion_csv(sessionmaker, tenant_id, start, end)
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=completions-{start}-{end}.csv"},
    )
