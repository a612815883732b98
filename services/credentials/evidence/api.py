"""HTTP routes of a submission's evidence: add, remove, download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Response, UploadFile
from fastapi.responses import StreamingResponse

from services.credentials.deps import EvidenceStoreDep, IdPath, Reader, Writer
from services.credentials.evidence import service
from services.credentials.evidence.storage import EvidenceNotFound, read_chunks
from services.credentials.schemas import EvidenceRead
from shared.downloads import content_disposition, repr_digest
from shared.problems import NotFound
from shared.state import SessionDep

router = APIRouter()


@router.post(
    "/v1/submissions/{submission_id}/evidence",
    response_model=EvidenceRead,
    status_code=201,
    summary="Add evidence to a draft: `text` (reflection), `url` (link) or `file` (multipart)",
)
async def add_evidence(
    submission_id: IdPath,
    response: Response,
    store: EvidenceStoreDep,
    who: Writer,
    session: SessionDep,
    requirement: Annotated[str, Form(min_length=1, max_length=40)],
    text: Annotated[str | None, Form(max_length=200_000)] = None,
    url: Annotated[str | None, Form(max_length=2000, pattern=r"^https?://[^\s]+$")] = None,
    file: Annotated[UploadFile | None, File()] = None,
) -> EvidenceRead:
    upload = service.Upload(file_name=file.filename or "evidence", chunks=read_chunks(file)) if file else None
    item = await service.add_evidence(
        session, who, store, submission_id, requirement_key=requirement, text=text, url=url, upload=upload
    )
    # The item's address (DELETE there removes it; GET /v1/submissions/{id} lists it).
    response.headers["Location"] = f"/v1/submissions/{submission_id}/evidence/{item.id}"
    return EvidenceRead.model_validate(item, from_attributes=True)


@router.delete(
    "/v1/submissions/{submission_id}/evidence/{item_id}", status_code=204, summary="Remove evidence from a draft"
)
async def remove_evidence(
    submission_id: IdPath,
    item_id: IdPath,
    store: EvidenceStoreDep,
    tasks: BackgroundTasks,
    who: Writer,
    session: SessionDep,
) -> None:
    key = await service.remove_evidence(session, who, submission_id, item_id)
    if key:
        # After the response, so after the commit: a rolled-back removal keeps its file.
        tasks.add_task(store.delete, key)


@router.get(
    "/v1/submissions/{submission_id}/evidence/{item_id}/content",
    summary="Download an evidence file (its educator, assigned assessors, coordinators)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The file, as uploaded",
            "headers": {
                "Content-Disposition": {
                    "description": "`attachment` with the uploaded file's name (`filename`, and `filename*` "
                    "in UTF-8 when it is not plain ASCII: RFC 6266, RFC 8187)",
                    "schema": {"type": "string"},
                },
                "Repr-Digest": {
                    "description": "RFC 9530: the file's SHA-256 as a structured-field byte sequence, "
                    "`sha-256=:<base64>:`",
                    "schema": {"type": "string", "pattern": "^sha-256=:[A-Za-z0-9+/]{43}=:$"},
                },
            },
        }
    },
)
async def download_evidence(
    submission_id: IdPath, item_id: IdPath, store: EvidenceStoreDep, who: Reader, session: SessionDep
) -> StreamingResponse:
    item = await service.evidence_file(session, who, submission_id, item_id)
    # A stored file always has both.
    assert item.storage_key is not None
    assert item.sha256 is not None
    try:
        chunks = await store.open(item.storage_key)
    except EvidenceNotFound as exc:
        raise NotFound("the file is no longer kept (retention)") from exc
    return StreamingResponse(
        chunks,
        media_type=item.media_type or "application/octet-stream",
        headers={
            # attachment: never rendered inline by a browser
            "Content-Disposition": content_disposition(item.file_name or "evidence"),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Repr-Digest": repr_digest(item.sha256),
        },
    )
