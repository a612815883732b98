"""What ``POST /v1/badges/bulk`` was given: rows of badges, as a JSON array or a CSV file.

The body, chosen by ``Content-Type``: ``application/json`` (an array of ``BulkRowIn`` objects),
``text/csv``, or ``multipart/form-data`` whose ``file`` field holds either (told apart by the
part's type, then its file name, then its first character).

The *shape* of the file is judged as a whole before any job exists — 415 for another media type,
422 ``bulk-file-refused`` for JSON that is not an array, CSV that is not UTF-8 text or lacks a
required column or has one this API does not know (a misspelt column would otherwise be dropped
without a word), no rows, or more rows than a job takes. Each row is then validated on its own:
a bad row becomes a row error with its number and never holds the others back.

CSV: a header row; ``,``, ``;`` or tab separated; UTF-8 (a BOM is fine). Columns: ``external_id``,
``achievement_id`` and ``recipient_email`` and/or ``recipient_id`` are required;
``recipient_name``, ``narrative``, one evidence item (``evidence_url``, ``evidence_name``,
``evidence_description``, ``evidence_genre``, ``evidence_narrative``), ``credits_earned``,
``activity_start``, ``activity_end``, ``valid_from``, ``valid_until``, ``awarded_date`` (RFC 3339
with a zone), and ``result.<criterion key>`` holding the level achieved on that rubric criterion.
Empty cells are absent values; columns without a name (trailing separators) are ignored. Row
numbers count records after the header from 1, blank records included.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from services.badges.errors import BulkFileRefused, DuplicateExternalId, UnsupportedMediaType
from services.badges.schemas import BulkRowIn
from shared.problems import BadRequest, FieldError, Problem, UnprocessableContent, json_pointer

JSON = "application/json"
CSV = "text/csv"
MULTIPART = "multipart/form-data"
# What browsers and spreadsheet programs label a .csv file with in an upload.
_CSV_TYPES = frozenset({CSV, "application/csv", "text/comma-separated-values", "application/vnd.ms-excel"})

Source = Literal["csv", "json"]

# Each CSV column and where its value goes in a row as JSON.
CSV_COLUMNS: dict[str, tuple[str | int, ...]] = {
    "external_id": ("external_id",),
    "achievement_id": ("achievement_id",),
    "recipient_email": ("recipient", "email"),
    "recipient_id": ("recipient", "id"),
    "recipient_name": ("recipient", "name"),
    "narrative": ("narrative",),
    "evidence_url": ("evidence", 0, "url"),
    "evidence_name": ("evidence", 0, "name"),
    "evidence_description": ("evidence", 0, "description"),
    "evidence_genre": ("evidence", 0, "genre"),
    "evidence_narrative": ("evidence", 0, "narrative"),
    "credits_earned": ("credits_earned",),
    "activity_start": ("activity_start",),
    "activity_end": ("activity_end",),
    "valid_from": ("valid_from",),
    "valid_until": ("valid_until",),
    "awarded_date": ("awarded_date",),
}
RESULT_PREFIX = "result."
_COLUMN_AT = {path: column for column, path in CSV_COLUMNS.items()}
# A problem about a whole object points at the column a person would fix first.
_COLUMN_AT |= {("recipient",): "recipient_email", ("evidence",): "evidence_url", ("evidence", 0): "evidence_url"}
_REQUIRED = ("external_id", "achievement_id")
_RECIPIENT = ("recipient_email", "recipient_id")


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON Schema with its ``$defs`` put in place: embedded in an OpenAPI document, a
    ``#/$defs/…`` reference would point at the document's root."""
    definitions = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref", "")
            if reference.startswith("#/$defs/"):
                return walk(definitions[reference.removeprefix("#/$defs/")])
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return dict(walk(schema))


# The operation's request body, documented by hand since the route reads it itself.
OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {
                "schema": {
                    "type": "array",
                    "minItems": 1,
                    # Any item is taken: one that is not a valid row becomes that row's error
                    # in the job, never a refusal of the file.
                    "items": {
                        "anyOf": [
                            _inlined(BulkRowIn.model_json_schema()),
                            {"description": "anything else: kept as a row that failed, with its problem"},
                        ]
                    },
                }
            },
            CSV: {"schema": {"type": "string", "description": "CSV with a header row (see the module documentation)"}},
            MULTIPART: {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "additionalProperties": False,
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "a CSV file or a JSON array"}
                    },
                }
            },
        },
    }
}


@dataclass
class Row:
    """One record of the file: a badge request when valid, else the problem that stops it."""

    number: int
    external_id: str | None
    request: dict[str, Any] | None  # a BadgeCreate as JSON (no external_id)
    error: dict[str, Any] | None  # a problem for this row: type, title, status, detail, errors


@dataclass
class Submission:
    source: Source
    digest: str  # of the records as read: the same file sent again has the same digest
    rows: list[Row]


async def read(request: Request, *, max_rows: int) -> Submission:
    media = _media(request.headers.get("content-type"))
    if media == MULTIPART:
        data, source = await _upload(request)
    elif media == JSON or media.endswith("+json"):
        data, source = await request.body(), "json"
    elif media in _CSV_TYPES:
        data, source = await request.body(), "csv"
    else:
        raise UnsupportedMediaType(
            f"send the rows as {JSON} (an array), as {CSV}, or as a file in {MULTIPART}, not {media or 'no type'}",
            accepted=[JSON, CSV, MULTIPART],
        )
    if source == "json":
        records: list[Any] = _json_records(data, max_rows)
        seen: dict[str, int] = {}
        rows = [_validate(n, record, "json", seen) for n, record in enumerate(records, 1)]
        digest = _digest("json", records)
    else:
        header, cell_rows = _csv_records(data, max_rows)
        seen = {}
        rows = []
        for number, cells in cell_rows:
            if cells is None:
                continue  # a blank record: counted, not a row
            if len(cells) > len(header):
                problem = UnprocessableContent(
                    f"the record has {len(cells)} cells and the header {len(header)} columns",
                    errors=[FieldError(pointer="", detail="more cells than columns: a separator too many?")],
                )
                rows.append(Row(number, None, None, problem.to_dict()))
                continue
            rows.append(_validate(number, _csv_body(header, cells), "csv", seen))
        digest = _digest("csv", [header, *(cells for _, cells in cell_rows)])
    if not rows:
        raise _refused("the file has no rows", "/body")
    return Submission(source=source, digest=digest, rows=rows)


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _refused(detail: str, pointer: str, *extra: FieldError) -> BulkFileRefused:
    return BulkFileRefused(detail, errors=[FieldError(pointer=pointer, detail=detail), *extra])


async def _upload(request: Request) -> tuple[bytes, Source]:
    try:
        form = await request.form(max_files=1, max_fields=1)
    except MultiPartException as exc:
        raise BadRequest(f"the multipart/form-data body cannot be read: {exc.message}") from exc
    try:
        unknown = sorted(set(form.keys()) - {"file"})
        if unknown:
            raise UnprocessableContent(
                f"unknown form fields: {', '.join(unknown)}; send the rows as the field 'file'",
                errors=[
                    FieldError(pointer=json_pointer(["body", name]), detail="not a field of this form")
                    for name in unknown
                ],
            )
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise UnprocessableContent(
                "attach the rows as the form field 'file' (a CSV file or a JSON array)",
                errors=[FieldError(pointer="/body/file", detail="required: a CSV or JSON file")],
            )
        data = await upload.read()
        part = _media(upload.content_type)
        name = (upload.filename or "").lower()
    finally:
        await form.close()
    if part == JSON or part.endswith("+json") or name.endswith(".json"):
        return data, "json"
    if part in _CSV_TYPES or name.endswith(".csv"):
        return data, "csv"
    return data, "json" if data.lstrip()[:1] == b"[" else "csv"


def _json_records(data: bytes, max_rows: int) -> list[Any]:
    try:
        records = json.loads(data)
    except (ValueError, RecursionError) as exc:
        where = f" ({exc})" if isinstance(exc, json.JSONDecodeError) else ""
        raise _refused(f"the body is not valid JSON{where}", "/body") from exc
    if not isinstance(records, list):
        raise _refused("send the rows as a JSON array of objects", "/body")
    if len(records) > max_rows:
        raise _refused(f"the file has {len(records)} rows; a job takes at most {max_rows}", "/body")
    return records


def _csv_records(data: bytes, max_rows: int) -> tuple[list[str], list[tuple[int, list[str] | None]]]:
    """The header (column names, lower-cased) and each record with its number (None: blank)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refused(f"the file is not UTF-8 text (byte {exc.start} is not): is it CSV?", "/body") from exc
    if "\x00" in text:
        raise _refused("the file holds NUL bytes: it is not CSV text", "/body")
    text = text.lstrip("\r\n")  # blank lines before the header
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str] | None]] = []
    kept = 0
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        _check_header(header)
        for number, cells in enumerate(reader, 1):
            if not any(cell.strip() for cell in cells):
                records.append((number, None))
                continue
            kept += 1
            if kept > max_rows:
                raise _refused(f"the file has more than {max_rows} rows; a job takes at most {max_rows}", "/body")
            records.append((number, cells))
    except csv.Error as exc:
        raise _refused(f"the file is not valid CSV: {exc} (line {reader.line_num})", "/body") from exc
    return header, records


def _check_header(header: Sequence[str]) -> None:
    if not any(header):
        raise _refused("the file has no header row naming its columns", "/body")
    named = [name for name in header if name]
    unknown = [
        n for n in named if n not in CSV_COLUMNS and not (n.startswith(RESULT_PREFIX) and n[len(RESULT_PREFIX) :])
    ]
    twice = sorted({n for n in named if named.count(n) > 1})
    missing = [n for n in _REQUIRED if n not in named]
    if not any(n in named for n in _RECIPIENT):
        missing.append(" or ".join(_RECIPIENT))
    problems = [
        *(FieldError(pointer=json_pointer(["body", n]), detail="required column is missing") for n in missing),
        *(FieldError(pointer=json_pointer(["body", n]), detail="not a column this API knows") for n in unknown),
        *(FieldError(pointer=json_pointer(["body", n]), detail="column given twice") for n in twice),
    ]
    if problems:
        parts = []
        if missing:
            parts.append("missing columns: " + ", ".join(missing))
        if unknown:
            parts.append("unknown columns: " + ", ".join(unknown))
        if twice:
            parts.append("columns given twice: " + ", ".join(twice))
        raise BulkFileRefused("; ".join(parts), errors=problems)


def _csv_body(header: Sequence[str], cells: Sequence[str]) -> dict[str, Any]:
    """A CSV record as the JSON row it stands for."""
    body: dict[str, Any] = {}
    results = []
    for name, cell in zip(header, cells, strict=False):
        value = cell.strip()
        if not name or not value:
            continue
        if name.startswith(RESULT_PREFIX):
            results.append({"criterion": name[len(RESULT_PREFIX) :], "level": value})
            continue
        *parents, leaf = CSV_COLUMNS[name]
        target: Any = body
        for depth, step in enumerate(parents):
            following = parents[depth + 1] if depth + 1 < len(parents) else leaf
            if isinstance(step, int):
                while len(target) <= step:
                    target.append({})
                target = target[step]
            else:
                target = target.setdefault(step, [] if isinstance(following, int) else {})
        target[leaf] = value
    if results:
        body["results"] = results
    return body


def _validate(number: int, record: Any, source: Source, seen: dict[str, int]) -> Row:
    given = record.get("external_id") if isinstance(record, dict) else None
    external_id = given.strip() if isinstance(given, str) and 0 < len(given.strip()) <= 200 else None
    if not isinstance(record, dict):
        problem = UnprocessableContent(
            "a row must be a JSON object", errors=[FieldError(pointer="", detail=f"got {type(record).__name__}")]
        )
        return Row(number, None, None, problem.to_dict())
    unstorable = _unstorable(record)
    if unstorable is not None:
        problem = UnprocessableContent(
            "the row holds text that cannot be stored",
            errors=[FieldError(pointer=row_pointer(unstorable[0], source, record), detail=unstorable[1])],
        )
        return Row(number, external_id, None, problem.to_dict())
    try:
        row = BulkRowIn.model_validate(record)
    except ValidationError as exc:
        errors = [
            FieldError(pointer=row_pointer(json_pointer(e["loc"]), source, record), detail=_message(e))
            for e in exc.errors(include_url=False)
        ]
        detail = f"{len(errors)} invalid field{'s' if len(errors) != 1 else ''}: " + ", ".join(
            e.pointer for e in errors
        )
        return Row(number, external_id, None, UnprocessableContent(detail, errors=errors).to_dict())
    if row.external_id in seen:
        first = seen[row.external_id]
        duplicate = DuplicateExternalId(
            f"external id {row.external_id!r} is on row {first} already: one badge per external id",
            errors=[FieldError(pointer=row_pointer("/external_id", source, record), detail=f"also on row {first}")],
        )
        return Row(number, row.external_id, None, duplicate.to_dict())
    seen[row.external_id] = number
    return Row(number, row.external_id, row.model_dump(mode="json", exclude={"external_id"}), None)


def _message(error: Mapping[str, Any]) -> str:
    if error.get("type") == "string_pattern_mismatch" and error.get("loc", ())[-1:] == ("email",):
        return "not an email address"
    return str(error.get("msg", "invalid value"))


def _unstorable(value: Any, pointer: str = "") -> tuple[str, str] | None:
    """Where a value holds what no database column takes (NUL, a lone surrogate), if anywhere.
    Other control characters are the issuing check's to refuse, with its own message."""
    if isinstance(value, str):
        for char in value:
            if char == "\x00" or 0xD800 <= ord(char) <= 0xDFFF:
                return pointer, f"contains U+{ord(char):04X}, which no credential can carry"
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _unstorable(key, pointer) or _unstorable(item, f"{pointer}/{json_pointer([key])[1:]}")
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _unstorable(item, f"{pointer}/{index}")
            if found:
                return found
    return None


def row_pointer(pointer: str, source: Source, body: Mapping[str, Any] | None) -> str:
    """A pointer into a row, as its author wrote it: into the JSON object, or at the CSV column.

    Takes a pointer relative to the row or under ``/body`` (what the issuing checks give)."""
    if pointer == "/body" or pointer.startswith("/body/"):
        pointer = pointer[len("/body") :]
    if source == "json" or not pointer:
        return pointer
    parts: list[str | int] = [
        int(p) if p.isdigit() else p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")
    ]
    if parts[0] == "results" and len(parts) > 1 and isinstance(parts[1], int):
        results = (body or {}).get("results")
        if isinstance(results, list) and parts[1] < len(results) and isinstance(results[parts[1]], dict):
            return json_pointer([RESULT_PREFIX + str(results[parts[1]].get("criterion"))])
    for length in range(len(parts), 0, -1):
        column = _COLUMN_AT.get(tuple(parts[:length]))
        if column is not None:
            return json_pointer([column])
    return pointer


def row_error(problem: Problem, source: Source, body: Mapping[str, Any] | None) -> dict[str, Any]:
    """A problem raised while issuing one row, stored with pointers into that row."""
    error = problem.to_dict()
    error["errors"] = [
        {"pointer": row_pointer(str(e["pointer"]), source, body), "detail": str(e["detail"])}
        for e in error.get("errors") or []
    ]
    return error


def _digest(source: Source, records: Sequence[Any]) -> str:
    text = json.dumps([source, list(records)], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
