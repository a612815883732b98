"""Content sniffing: each format from real bytes built here, dangerous ones refused even when renamed."""

from __future__ import annotations

import io
import os
import struct
import wave
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from starlette.datastructures import Headers, UploadFile

from services.credentials.evidence.sniff import (
    ALLOWABLE_MEDIA_TYPES,
    HEAD_BYTES,
    MAX_ZIP_ENTRIES,
    ZIP_TAIL_BYTES,
    ContentProbe,
    DetectedType,
    UnsupportedEvidenceType,
    check_allowed,
    is_allowed,
    sniff,
    sniff_chunks,
)
from services.credentials.evidence.storage import LocalEvidenceStore, read_chunks

# --- building real files ---------------------------------------------------------------------------


def image(fmt: str, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (8, 8), "teal").save(buffer, format=fmt)
    return buffer.getvalue()


def zip_of(entries: dict[str, bytes], *, first: tuple[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if first is not None:
            archive.writestr(zipfile.ZipInfo(first[0]), first[1], compress_type=zipfile.ZIP_STORED)
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


CONTENT_TYPES = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
RELS = b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'


def ooxml(part: str, *, extra: dict[str, bytes] | None = None) -> bytes:
    return zip_of({"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": RELS, part: b"<doc/>", **(extra or {})})


def odf(mimetype: str) -> bytes:
    return zip_of(
        {"content.xml": b"<office:document-content/>", "META-INF/manifest.xml": b"<manifest:manifest/>"},
        first=("mimetype", mimetype.encode()),
    )


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    return box(b"ftyp", major + b"\x00\x00\x02\x00" + b"".join(compatible))


def ebml(doc_type: bytes) -> bytes:
    def element(element_id: bytes, value: bytes) -> bytes:
        return element_id + bytes([0x80 | len(value)]) + value

    header = (
        element(b"\x42\x86", b"\x01")  # EBMLVersion
        + element(b"\x42\xf7", b"\x01")  # EBMLReadVersion
        + element(b"\x42\xf2", b"\x04")  # EBMLMaxIDLength
        + element(b"\x42\xf3", b"\x08")  # EBMLMaxSizeLength
        + element(b"\x42\x82", doc_type)  # DocType
        + element(b"\x42\x87", b"\x04")  # DocTypeVersion
        + element(b"\x42\x85", b"\x02")  # DocTypeReadVersion
    )
    segment = b"\x18\x53\x80\x67\x01\x00\x00\x00\x00\x00\x00\x00"  # Segment, size unknown
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(header)]) + header + segment


def mp3_frames(count: int = 3) -> bytes:
    # MPEG-1 layer III, 128 kbit/s, 44.1 kHz, no padding: 144 * 128000 / 44100 = 417 bytes a frame.
    return (b"\xff\xfb\x90\x00" + b"\x00" * 413) * count


def id3_tag(title: bytes) -> bytes:
    frame = b"TIT2" + struct.pack(">I", len(title) + 1) + b"\x00\x00" + b"\x03" + title
    size = len(frame)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x04\x00\x00" + syncsafe + frame


def wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 800)
    return buffer.getvalue()


def pe_executable() -> bytes:
    dos_header = bytearray(b"MZ" + b"\x90\x00" + b"\x00" * 56 + struct.pack("<I", 0x80))
    dos_stub = b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21This program cannot be run in DOS mode.\r\r\n$"
    body = bytes(dos_header) + dos_stub
    body += b"\x00" * (0x80 - len(body))
    coff = struct.pack("<HHIIIHH", 0x8664, 1, 0, 0, 0, 0xF0, 0x22)  # x86-64, one section
    return body + b"PE\x00\x00" + coff + b"\x00" * 512


LS = Path("/bin/ls").read_bytes()
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00" + b"\x00" * 480


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    return (data[start : start + size] for start in range(0, len(data), size))


# --- formats -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "media_type"),
    [
        (lambda: image("PNG"), "image/png"),
        (lambda: image("JPEG"), "image/jpeg"),
        (lambda: image("GIF", "P"), "image/gif"),
        (lambda: image("WEBP"), "image/webp"),
        (lambda: image("PDF"), "application/pdf"),
        (lambda: ftyp(b"heic", b"mif1", b"heic") + box(b"meta", b"\x00" * 8), "image/heic"),
        (lambda: ftyp(b"heix", b"mif1", b"heix") + box(b"meta", b"\x00" * 8), "image/heic"),
        (lambda: ftyp(b"mif1", b"mif1", b"heic") + box(b"meta", b"\x00" * 8), "image/heic"),
        (lambda: ftyp(b"mif1", b"mif1", b"miaf") + box(b"meta", b"\x00" * 8), "image/heif"),
        (lambda: ftyp(b"avif", b"avif", b"mif1", b"miaf") + box(b"meta", b"\x00" * 8), "image/avif"),
        (lambda: ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41") + box(b"mdat", b"\x00" * 64), "video/mp4"),
        (lambda: ftyp(b"mp42", b"mp42", b"isom") + box(b"moov", b"\x00" * 64), "video/mp4"),
        (lambda: ftyp(b"qt  ", b"qt  ") + box(b"wide", b"") + box(b"mdat", b"\x00" * 64), "video/quicktime"),
        (lambda: box(b"moov", box(b"mvhd", b"\x00" * 100)), "video/quicktime"),
        (lambda: ftyp(b"M4A ", b"M4A ", b"mp42", b"isom") + box(b"mdat", b"\x00" * 64), "audio/mp4"),
        (lambda: ebml(b"webm"), "video/webm"),
        (lambda: ebml(b"matroska"), "video/x-matroska"),
        (lambda: mp3_frames(), "audio/mpeg"),
        (lambda: id3_tag(b"Classroom discussion") + mp3_frames(), "audio/mpeg"),
        (wav, "audio/wav"),
        (lambda: ooxml("word/document.xml"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (lambda: ooxml("xl/workbook.xml"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (
            lambda: ooxml("ppt/presentation.xml"),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        (lambda: odf("application/vnd.oasis.opendocument.text"), "application/vnd.oasis.opendocument.text"),
        (
            lambda: odf("application/vnd.oasis.opendocument.spreadsheet"),
            "application/vnd.oasis.opendocument.spreadsheet",
        ),
        (lambda: zip_of({"notes.txt": b"hello", "photo.jpg": image("JPEG")}), "application/zip"),
        (lambda: "Reflection on week 3: students ❤ exit tickets.\n".encode(), "text/plain"),
        (lambda: b"\xef\xbb\xbfname,school,minutes\nAda,North,30\nGrace,South,45\n", "text/csv"),
        (lambda: b"name;minutes\r\nAda;30\r\nGrace;45\r\n", "text/csv"),
        (lambda: b"<!DOCTYPE html><html><body><p>My lesson</p></body></html>", "text/html"),
        (lambda: b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>', "image/svg+xml"),
        (lambda: b'<?xml version="1.0"?><rubric><criterion/></rubric>', "application/xml"),
        (lambda: b"", "application/x-empty"),
        (lambda: bytes(range(256)) * 16, "application/octet-stream"),
    ],
)
def test_harmless_formats(make: Callable[[], bytes], media_type: str) -> None:
    data = make()

    detected = sniff(data)

    assert detected.media_type == media_type
    assert not detected.dangerous


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (LS[:HEAD_BYTES], "application/x-elf"),
        (LS, "application/x-elf"),
        (pe_executable(), "application/vnd.microsoft.portable-executable"),
        (b"MZ" + b"\x00" * 200, "application/x-dosexec"),
        (struct.pack("<I", 0xFEEDFACE) + b"\x07\x00\x00\x00" + b"\x00" * 20, "application/x-mach-binary"),
        (struct.pack("<I", 0xFEEDFACF) + b"\x07\x00\x00\x01" + b"\x00" * 24, "application/x-mach-binary"),
        (struct.pack(">I", 0xFEEDFACE) + b"\x00\x00\x00\x12" + b"\x00" * 20, "application/x-mach-binary"),
        (struct.pack(">I", 0xFEEDFACF) + b"\x01\x00\x00\x0c" + b"\x00" * 24, "application/x-mach-binary"),
        (b"\xca\xfe\xba\xbe\x00\x00\x00\x02" + b"\x01\x00\x00\x07" + b"\x00" * 32, "application/x-mach-binary"),
        (b"\xca\xfe\xba\xbf\x00\x00\x00\x02" + b"\x00" * 32, "application/x-mach-binary"),
        (b"\xca\xfe\xba\xbe\x00\x00\x00\x34\x00\x1d\x0a\x00", "application/java-vm"),
        (b"#!/bin/sh\nrm -rf ~\n", "application/x-sh"),
        (b"#! /usr/bin/env bash\necho hi\n", "application/x-sh"),
        (b"#!/usr/bin/env -S python3 -u\nprint('hi')\n", "text/x-python"),
        (b"#!/usr/bin/python3.11\nprint('hi')\n", "text/x-python"),
        (b"#!/usr/bin/perl -w\nprint 1;\n", "text/x-perl"),
        (b"#!/opt/bin/custom-runner\nrun\n", "text/x-script"),
        (OLE, "application/x-ole-storage"),
        (b"\x00asm\x01\x00\x00\x00", "application/wasm"),
        (zip_of({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n", "Main.class": b"\xca\xfe\xba\xbe"}), None),
        (ooxml("word/document.xml", extra={"word/vbaProject.bin": OLE}), None),
        (ooxml("xl/workbook.xml", extra={"xl/vbaProject.bin": OLE}), None),
        (b"<html><body><script>alert(document.cookie)</script></body></html>", "text/html"),
        (b"<p>hi</p><img src=x onerror=alert(1)>", "text/html"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><rect/></a></svg>', "image/svg+xml"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div/></foreignObject></svg>', "image/svg+xml"),
    ],
)
def test_dangerous_formats(data: bytes, media_type: str | None) -> None:
    detected = sniff(data)

    assert detected.dangerous, detected
    if media_type is not None:
        assert detected.media_type == media_type


def test_jar_and_macro_documents_are_named() -> None:
    jar = zip_of({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n", "app/Main.class": b"\xca\xfe\xba\xbe"})
    docm = ooxml("word/document.xml", extra={"word/vbaProject.bin": OLE})
    odt_with_basic = zip_of(
        {"content.xml": b"<x/>", "Basic/Standard/Module1.xml": b"<script:module/>"},
        first=("mimetype", b"application/vnd.oasis.opendocument.text"),
    )

    assert sniff(jar).media_type == "application/java-archive"
    assert sniff(docm).media_type == "application/vnd.ms-word.document.macroEnabled.12"
    assert sniff(odt_with_basic) == DetectedType(
        "application/vnd.oasis.opendocument.text", "OpenDocument text with macros", dangerous=True
    )


def test_text_with_nul_is_not_text() -> None:
    assert sniff(b"Reflection\x00 on my practice\n").media_type == "application/octet-stream"


def test_invalid_utf8_is_not_text() -> None:
    assert sniff("Réflexion sur ma pratique\n".encode("latin-1")).media_type == "application/octet-stream"


def test_text_full_of_control_characters_is_not_text() -> None:
    assert sniff(b"abc\x01\x02\x03def\x04\x05\x06" * 10).media_type == "application/octet-stream"


def test_prose_is_text_not_csv() -> None:
    assert sniff(b"I tried exit tickets.\nStudents, mostly, liked it, I think.\n").media_type == "text/plain"


def test_a_pdf_header_later_in_the_file_is_not_a_pdf() -> None:
    assert sniff(b"<html><body>%PDF-1.7</body></html>").media_type == "text/html"
    assert sniff(LS[:64] + b"%PDF-1.7").dangerous


def test_an_id3_tag_before_something_else_is_not_mp3() -> None:
    assert sniff(id3_tag(b"title") + b"fLaC" + b"\x00" * 64).media_type == "application/octet-stream"


def test_a_lone_frame_sync_in_binary_is_not_mp3() -> None:
    assert sniff(b"\xff\xfb\x90\x00" + b"\x01" * 2000).media_type == "application/octet-stream"


# --- streaming: what only the whole file shows -----------------------------------------------------


async def test_streaming_agrees_with_whole_file_sniffing() -> None:
    samples = [image("PNG"), ooxml("word/document.xml"), LS, b"a,b\n1,2\n" * 3000, wav(), mp3_frames(40)]
    for data in samples:
        for size in (1, 1000, HEAD_BYTES, 1 << 20):
            if size == 1 and len(data) > 50_000:
                continue
            assert await sniff_chunks(chunked(data, size)) == sniff(data)


async def test_a_large_document_is_recognised_from_its_central_directory() -> None:
    data = ooxml("ppt/presentation.xml", extra={"ppt/media/video.mp4": os.urandom(3 * ZIP_TAIL_BYTES)})

    detected = await sniff_chunks(chunked(data, 64 * 1024))

    assert detected.media_type == "application/vnd.openxmlformats-officedocument.presentationml.presentation"


async def test_a_zip_with_too_many_entries_is_not_listed() -> None:
    entries = {f"word/{n}.xml": b"" for n in range(MAX_ZIP_ENTRIES)}
    data = zip_of({"[Content_Types].xml": CONTENT_TYPES, **entries})

    detected = await sniff_chunks(chunked(data, 64 * 1024))

    assert detected.media_type == "application/zip"
    assert "not inspected" in detected.label


def test_a_zip_bomb_is_listed_without_decompressing(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("word/document.xml", b"\x00" * (64 * 1024 * 1024))
    data = buffer.getvalue()
    assert len(data) < 512 * 1024

    def no_decompression(*args: object, **kwargs: object) -> None:
        raise AssertionError("an entry was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_decompression)
    monkeypatch.setattr(zipfile.ZipFile, "read", no_decompression)
    assert sniff(data).media_type.endswith("wordprocessingml.document")


def test_a_truncated_zip_is_a_plain_zip() -> None:
    data = ooxml("word/document.xml")

    assert sniff(data[:-30]).media_type == "application/zip"


async def test_nul_after_the_head_makes_text_binary() -> None:
    data = b"Week 1 reflection.\n" * 1000 + b"\x00\x01\x02 binary payload"
    assert len(data) > 2 * HEAD_BYTES

    assert (await sniff_chunks(chunked(data, 4096))).media_type == "application/octet-stream"


async def test_script_late_in_markup_is_found_even_across_chunks() -> None:
    data = b'<svg xmlns="http://www.w3.org/2000/svg">' + b"<rect/>" * 3000 + b"<script>alert(1)</script></svg>"
    cut = data.index(b"<script>") + 3  # the match straddles two chunks

    assert sniff(data[:HEAD_BYTES]) == sniff(b'<svg xmlns="http://www.w3.org/2000/svg"/>')
    detected = await sniff_chunks([data[:cut], data[cut:]])

    assert detected.dangerous
    assert detected.media_type == "image/svg+xml"


# --- what a requirement accepts ---------------------------------------------------------------------

PDF_ONLY = {"application/pdf"}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_check_allowed_accepts_exact_and_wildcard_types() -> None:
    check_allowed(sniff(image("PDF")), PDF_ONLY)
    check_allowed(sniff(image("PNG")), {"image/*"})
    check_allowed(sniff(b"a,b\n1,2\n"), {"text/plain"})
    assert not is_allowed(sniff(b"just words\n"), {"text/csv"})
    assert not is_allowed(sniff(image("PNG")), {"video/*", "application/pdf"})


def test_check_allowed_names_the_detected_and_the_allowed_types() -> None:
    with pytest.raises(UnsupportedEvidenceType) as caught:
        check_allowed(sniff(image("PNG")), {"application/pdf", "video/mp4"})

    problem = caught.value.to_dict()
    assert problem["status"] == 415
    assert problem["type"] == "https://practicum.dev/problems/credentials/unsupported-evidence-type"
    assert problem["detected_type"] == "image/png"
    assert problem["allowed_types"] == ["application/pdf", "video/mp4"]
    assert problem["dangerous"] is False
    assert "image/png" in problem["detail"]
    assert "application/pdf, video/mp4" in problem["detail"]


def test_dangerous_content_is_refused_even_when_listed() -> None:
    detected = sniff(LS)

    with pytest.raises(UnsupportedEvidenceType) as caught:
        check_allowed(detected, {"application/x-elf", "application/*", "application/octet-stream"})

    assert caught.value.to_dict()["dangerous"] is True
    assert "never accepted" in str(caught.value.detail)


def test_allowable_types_are_all_harmless() -> None:
    assert {"application/pdf", "image/heic", "video/mp4", "text/csv"} <= ALLOWABLE_MEDIA_TYPES
    assert not {"application/x-elf", "application/x-ole-storage", "application/octet-stream"} & ALLOWABLE_MEDIA_TYPES


# --- the upload path: probe + store ---------------------------------------------------------------------


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def renamed_upload(data: bytes, filename: str, content_type: str) -> UploadFile:
    return UploadFile(file=io.BytesIO(data), filename=filename, headers=Headers({"content-type": content_type}))


async def test_renamed_executable_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    store = LocalEvidenceStore(tmp_path / "evidence")
    upload = renamed_upload(LS, "report.pdf", "application/pdf")
    pulled = 0

    async def counted() -> AsyncIterator[bytes]:
        nonlocal pulled
        async for chunk in read_chunks(upload, chunk_size=HEAD_BYTES):
            pulled += 1
            yield chunk

    probe = ContentProbe(counted(), allowed=PDF_ONLY)
    with pytest.raises(UnsupportedEvidenceType) as caught:
        await store.put("tenant-1/report", probe, max_bytes=len(LS))

    problem = caught.value.to_dict()
    assert problem["detected_type"] == "application/x-elf"
    assert problem["dangerous"] is True
    assert pulled == 1, "refused after the first bytes, not after the whole upload"
    assert not await store.exists("tenant-1/report")
    assert stored_files(tmp_path / "evidence") == []


async def test_wrong_container_is_refused_at_the_end_and_nothing_is_stored(tmp_path: Path) -> None:
    store = LocalEvidenceStore(tmp_path / "evidence")
    data = ooxml("xl/workbook.xml", extra={"xl/media/big.bin": os.urandom(100_000)})
    upload = renamed_upload(data, "plan.docx", "application/msword")
    probe = ContentProbe(read_chunks(upload, chunk_size=8192), allowed={DOCX})

    with pytest.raises(UnsupportedEvidenceType) as caught:
        await store.put("tenant-1/plan", probe, max_bytes=1_000_000)

    assert caught.value.to_dict()["detected_type"] == XLSX
    assert stored_files(tmp_path / "evidence") == []


async def test_accepted_upload_is_stored_with_its_detected_type(tmp_path: Path) -> None:
    store = LocalEvidenceStore(tmp_path / "evidence")
    data = ooxml("word/document.xml", extra={"word/media/photo.png": image("PNG")})
    upload = renamed_upload(data, "plan.bin", "application/octet-stream")
    probe = ContentProbe(read_chunks(upload, chunk_size=1024), allowed={"application/pdf", DOCX})

    with pytest.raises(RuntimeError, match="read to its end"):
        _ = probe.detected
    stored = await store.put("tenant-1/plan", probe, max_bytes=1_000_000)

    assert probe.detected.label == "Word document"
    assert probe.size == stored.size == len(data)
    assert await sniff_chunks(await store.open("tenant-1/plan")) == probe.detected


async def test_script_in_markup_stops_the_upload_where_it_appears(tmp_path: Path) -> None:
    store = LocalEvidenceStore(tmp_path / "evidence")
    rects = b"<rect/>" * 5000
    data = b'<svg xmlns="http://www.w3.org/2000/svg">' + rects + b"<script>alert(1)</script>" + rects + b"</svg>"
    probe = ContentProbe(chunked(data, 4096), allowed={"image/svg+xml"})

    with pytest.raises(UnsupportedEvidenceType, match="image/svg"):
        await store.put("tenant-1/drawing", probe, max_bytes=1_000_000)

    assert probe.size < len(data)
    assert stored_files(tmp_path / "evidence") == []


async def test_probe_without_allowed_only_observes() -> None:
    probe = ContentProbe(chunked(LS, 65536))

    passed = b"".join([chunk async for chunk in probe])

    assert passed == LS
    assert probe.detected.media_type == "application/x-elf"
