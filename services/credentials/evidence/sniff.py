"""What an evidence file really is, told from its bytes, and whether a requirement accepts it.

Never from the file name nor from the Content-Type the client sent: both are the uploader's claim.
The first ``HEAD_BYTES`` decide almost every format. Three kinds need the rest of the stream:

* ZIP containers (Office Open XML, OpenDocument, JAR, APK) are told apart by the names in the
  central directory at the end of the file. Only the last ``ZIP_TAIL_BYTES`` are kept; the names are
  listed with ``zipfile`` from that bounded buffer, nothing is decompressed, and an archive with
  more than ``MAX_ZIP_ENTRIES`` entries (or a directory that does not fit, or ZIP64) is reported as
  a plain ZIP, which requirements normally do not accept.
* Text must be valid UTF-8 without NUL and with almost no control characters all the way through,
  or it is binary data.
* HTML, SVG and XML are scanned to the end for script (``<script``, ``on…=`` handlers,
  ``javascript:`` URLs, ``<iframe>``/``<object>``/``<embed>``, ``<foreignObject>``, …): with
  any of it they are dangerous.

Dangerous formats (executables of every platform, scripts with ``#!``, Java classes and archives,
OLE compound files such as MSI installers, macro-enabled Office documents, markup with script) are
recognised so that they are refused even when renamed: ``check_allowed`` refuses them whatever the
requirement allows.

Use ``ContentProbe`` to sniff while ``EvidenceStore.put`` streams an upload: with ``allowed`` it
raises ``UnsupportedEvidenceType`` (415) as soon as the bytes decide it, and at the latest at the end
of the stream, so ``put`` aborts and nothing is stored. ``sniff(data)`` does the same for bytes held
in memory, ``sniff_chunks`` for a stored object's chunks.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import struct
import zipfile
from collections import deque
from collections.abc import AsyncIterator, Set
from dataclasses import dataclass, replace
from typing import Literal

from services.credentials.errors import CredentialsProblem
from services.credentials.evidence.storage import Chunks, iterate_chunks

HEAD_BYTES = 8 * 1024
ZIP_TAIL_BYTES = 512 * 1024
MAX_ZIP_ENTRIES = 5000
MAX_CONTROL_RATIO = 0.01
"""Text may have at most this share of control characters other than tab, CR, LF and FF."""


@dataclass(frozen=True)
class DetectedType:
    """A format told from content: its media type, a label for people, and whether it is refused always."""

    media_type: str
    label: str
    dangerous: bool = False


# --- what sniffing can report -----------------------------------------------------------------

PDF = DetectedType("application/pdf", "PDF document")
PNG = DetectedType("image/png", "PNG image")
JPEG = DetectedType("image/jpeg", "JPEG image")
GIF = DetectedType("image/gif", "GIF image")
WEBP = DetectedType("image/webp", "WebP image")
HEIC = DetectedType("image/heic", "HEIC image")
HEIC_SEQUENCE = DetectedType("image/heic-sequence", "HEIC image sequence")
HEIF = DetectedType("image/heif", "HEIF image")
HEIF_SEQUENCE = DetectedType("image/heif-sequence", "HEIF image sequence")
AVIF = DetectedType("image/avif", "AVIF image")
SVG = DetectedType("image/svg+xml", "SVG image")
MP4 = DetectedType("video/mp4", "MP4 video")
M4A = DetectedType("audio/mp4", "MPEG-4 audio")
THREE_GPP = DetectedType("video/3gpp", "3GPP video")
QUICKTIME = DetectedType("video/quicktime", "QuickTime MOV video")
WEBM = DetectedType("video/webm", "WebM video")
MATROSKA = DetectedType("video/x-matroska", "Matroska MKV video")
AVI = DetectedType("video/x-msvideo", "AVI video")
MP3 = DetectedType("audio/mpeg", "MP3 audio")
WAV = DetectedType("audio/wav", "WAV audio")
DOCX = DetectedType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word document")
XLSX = DetectedType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel workbook")
PPTX = DetectedType("application/vnd.openxmlformats-officedocument.presentationml.presentation", "PowerPoint deck")
ODT = DetectedType("application/vnd.oasis.opendocument.text", "OpenDocument text")
ODS = DetectedType("application/vnd.oasis.opendocument.spreadsheet", "OpenDocument spreadsheet")
ODP = DetectedType("application/vnd.oasis.opendocument.presentation", "OpenDocument presentation")
ODG = DetectedType("application/vnd.oasis.opendocument.graphics", "OpenDocument drawing")
ZIP = DetectedType("application/zip", "ZIP archive")
TEXT = DetectedType("text/plain", "plain text")
CSV = DetectedType("text/csv", "CSV table")
HTML = DetectedType("text/html", "HTML document")
XML = DetectedType("application/xml", "XML document")
EMPTY = DetectedType("application/x-empty", "empty file")
OCTET_STREAM = DetectedType("application/octet-stream", "unrecognised binary data")

PE = DetectedType("application/vnd.microsoft.portable-executable", "Windows PE executable", dangerous=True)
DOS_EXECUTABLE = DetectedType("application/x-dosexec", "DOS/Windows MZ executable", dangerous=True)
ELF = DetectedType("application/x-elf", "Linux/Unix ELF executable", dangerous=True)
MACH_O = DetectedType("application/x-mach-binary", "macOS Mach-O executable", dangerous=True)
MACH_O_UNIVERSAL = DetectedType("application/x-mach-binary", "macOS universal Mach-O executable", dangerous=True)
JAVA_CLASS = DetectedType("application/java-vm", "Java class file", dangerous=True)
JAR = DetectedType("application/java-archive", "Java JAR archive", dangerous=True)
APK = DetectedType("application/vnd.android.package-archive", "Android APK app", dangerous=True)
OLE = DetectedType(
    "application/x-ole-storage", "OLE compound file, e.g. an MSI installer or a legacy Office document", dangerous=True
)
WASM = DetectedType("application/wasm", "WebAssembly module", dangerous=True)
WINDOWS_SHORTCUT = DetectedType("application/x-ms-shortcut", "Windows LNK shortcut", dangerous=True)
DOCM = DetectedType("application/vnd.ms-word.document.macroEnabled.12", "Word document with macros", dangerous=True)
XLSM = DetectedType("application/vnd.ms-excel.sheet.macroEnabled.12", "Excel workbook with macros", dangerous=True)
PPTM = DetectedType(
    "application/vnd.ms-powerpoint.presentation.macroEnabled.12", "PowerPoint deck with macros", dangerous=True
)
HTML_WITH_SCRIPT = DetectedType("text/html", "HTML document with script", dangerous=True)
SVG_WITH_SCRIPT = DetectedType("image/svg+xml", "SVG image with script", dangerous=True)
XML_WITH_SCRIPT = DetectedType("application/xml", "XML document with script", dangerous=True)

_HARMLESS = (
    PDF, PNG, JPEG, GIF, WEBP, HEIC, HEIC_SEQUENCE, HEIF, HEIF_SEQUENCE, AVIF, SVG, MP4, M4A, THREE_GPP, QUICKTIME,
    WEBM, MATROSKA, AVI, MP3, WAV, DOCX, XLSX, PPTX, ODT, ODS, ODP, ODG, ZIP, TEXT, CSV, HTML, XML,
)  # fmt: skip
ALLOWABLE_MEDIA_TYPES: frozenset[str] = frozenset(t.media_type for t in _HARMLESS)
"""Media types a requirement may list as allowed (sniffing can report them for harmless content)."""


class UnsupportedEvidenceType(CredentialsProblem):
    """The file's content is not a type the requirement accepts, or is dangerous; nothing was stored."""

    status = 415
    title = "Unsupported evidence type"
    slug = "credentials/unsupported-evidence-type"

    def __init__(self, detected: DetectedType, allowed: Set[str]) -> None:
        allowed_types = sorted(allowed)
        what = f"{detected.media_type} ({detected.label})"
        if detected.dangerous:
            detail = f"the file's content is {what}, which is never accepted as evidence"
        elif allowed_types:
            detail = f"the file's content is {what}; accepted here: {', '.join(allowed_types)}"
        else:
            detail = f"the file's content is {what}; no file type is accepted here"
        super().__init__(
            detail,
            detected_type=detected.media_type,
            detected_label=detected.label,
            dangerous=detected.dangerous,
            allowed_types=allowed_types,
        )
        self.detected = detected
        self.allowed_types = allowed_types


_ALSO_ACCEPTED_AS = {"text/csv": "text/plain"}  # text with commas in it may well look like a table


def is_allowed(detected: DetectedType, allowed: Set[str]) -> bool:
    """Whether ``allowed`` accepts the content; dangerous content never is.

    Entries are exact media types or ``type/*``; CSV counts as plain text too.
    """
    if detected.dangerous:
        return False
    wanted = {entry.strip().lower() for entry in allowed}
    media_type = detected.media_type.lower()
    candidates = {media_type, f"{media_type.split('/', 1)[0]}/*"}
    if media_type in _ALSO_ACCEPTED_AS:
        candidates.add(_ALSO_ACCEPTED_AS[media_type])
    return bool(candidates & wanted)


def check_allowed(detected: DetectedType, allowed: Set[str]) -> None:
    """Raise ``UnsupportedEvidenceType`` (415) unless ``allowed`` accepts the detected content."""
    if not is_allowed(detected, allowed):
        raise UnsupportedEvidenceType(detected, allowed)


# --- the first bytes ----------------------------------------------------------------------------

_Pending = Literal["zip", "text", "markup"] | None


@dataclass(frozen=True)
class _Head:
    detected: DetectedType
    pending: _Pending = None
    """What the rest of the stream must still confirm: the ZIP directory, text validity, no script."""


_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_LNK_MAGIC = b"L\x00\x00\x00\x01\x14\x02\x00"
_MACH_O_MAGICS = (
    b"\xfe\xed\xfa\xce",  # 32-bit, big-endian
    b"\xfe\xed\xfa\xcf",  # 64-bit, big-endian
    b"\xce\xfa\xed\xfe",  # 32-bit, little-endian
    b"\xcf\xfa\xed\xfe",  # 64-bit, little-endian
)
_FAT_MAGICS = (b"\xca\xfe\xba\xbf", b"\xbe\xba\xfe\xca", b"\xbf\xba\xfe\xca")  # fat64 and byte-swapped fat
_CAFEBABE = b"\xca\xfe\xba\xbe"  # fat Mach-O or Java class: told apart by the next word
_JAVA_MIN_MAJOR = 45
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_BOM = b"\xef\xbb\xbf"

_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis"}
_MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"M4V "}
_M4A_BRANDS = {b"M4A ", b"M4B "}

_HTML_START = re.compile(
    rb"<(?:!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p)[\s>/]",
    re.IGNORECASE,
)
_SCRIPT = re.compile(
    rb"<\s{0,16}(?:script|iframe|frame|object|embed|applet|foreignobject|handler|base)\b"
    rb"|[\s/\"';]on[a-z]{2,32}\s{0,16}="
    rb"|(?:java|vb)script\s{0,16}:"
    rb"|data\s{0,16}:\s{0,16}text/html"
    rb"|<\s{0,16}meta\b[^>]{0,512}http-equiv"
    rb"|<\?xml-stylesheet",
    re.IGNORECASE,
)
_SCRIPT_CARRY = 1024  # longer than any _SCRIPT match, so a match split across chunks is still seen

_INTERPRETERS = {
    "sh": DetectedType("application/x-sh", "shell script", dangerous=True),
    "python": DetectedType("text/x-python", "Python script", dangerous=True),
    "perl": DetectedType("text/x-perl", "Perl script", dangerous=True),
    "ruby": DetectedType("text/x-ruby", "Ruby script", dangerous=True),
    "node": DetectedType("text/javascript", "Node.js JavaScript script", dangerous=True),
    "php": DetectedType("application/x-httpd-php", "PHP script", dangerous=True),
}
_SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "ash", "csh", "tcsh", "fish"}

_MP3_BITRATES_KBPS = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),  # MPEG-1 layer III
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),  # MPEG-2/2.5 layer III
}
_MP3_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _sniff_head(head: bytes, *, complete: bool) -> _Head:
    """Decide from the first bytes; ``complete`` when they are the whole file."""
    if not head:
        return _Head(EMPTY if complete else OCTET_STREAM)
    if head.startswith(b"%PDF-"):
        return _Head(PDF)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _Head(PNG)
    if head.startswith(b"\xff\xd8\xff"):
        return _Head(JPEG)
    if head.startswith((b"GIF87a", b"GIF89a")):
        return _Head(GIF)
    if head.startswith(b"RIFF") and len(head) >= 12:
        return _Head({b"WEBP": WEBP, b"WAVE": WAV, b"AVI ": AVI}.get(head[8:12], OCTET_STREAM))
    if head[4:8] == b"ftyp":
        return _Head(_iso_media(head))
    if head[4:8] in (b"moov", b"mdat", b"wide"):  # QuickTime files older than the ftyp box
        return _Head(QUICKTIME)
    if head.startswith(_EBML_MAGIC):
        return _Head(_ebml(head))
    if head.startswith(_OLE_MAGIC):
        return _Head(OLE)
    if head.startswith(_ZIP_MAGICS):
        return _Head(ZIP, "zip")
    if head.startswith(b"\x7fELF"):
        return _Head(ELF)
    if head.startswith(b"MZ"):
        return _Head(_mz(head))
    if head.startswith(_MACH_O_MAGICS + _FAT_MAGICS):
        return _Head(MACH_O_UNIVERSAL if head.startswith(_FAT_MAGICS) else MACH_O)
    if head.startswith(_CAFEBABE):
        return _Head(_cafebabe(head))
    if head.startswith(b"\x00asm"):
        return _Head(WASM)
    if head.startswith(_LNK_MAGIC):
        return _Head(WINDOWS_SHORTCUT)
    if head.startswith(b"#!"):
        return _Head(_script(head))
    if head.startswith(b"ID3") or _mp3_frames_at(head, 0, complete=complete):
        return _Head(_mp3(head, complete=complete))
    markup = _markup(head)
    if markup is not None:
        return _Head(markup, "markup")
    text = _text(head, complete=complete)
    if text is not None:
        return _Head(text, "text")
    return _Head(OCTET_STREAM)


def _iso_media(head: bytes) -> DetectedType:
    """ISO base media (MP4, MOV, HEIF/HEIC, AVIF, 3GP) by the brands in the leading ftyp box."""
    box_size = int.from_bytes(head[0:4], "big")
    major = head[8:12]
    end = min(box_size, len(head)) if box_size >= 16 else 16
    brands = {major} | {head[i : i + 4] for i in range(16, end - 3, 4)}
    if major in _HEIC_BRANDS:
        return HEIC
    if major in (b"hevc", b"hevx"):
        return HEIC_SEQUENCE
    if major in (b"avif", b"avis"):
        return AVIF
    if major == b"mif1":
        if brands & _HEIC_BRANDS:
            return HEIC
        return AVIF if b"avif" in brands else HEIF
    if major == b"msf1":
        return HEIC_SEQUENCE if brands & {b"hevc", b"hevx"} else HEIF_SEQUENCE
    if major == b"qt  ":
        return QUICKTIME
    if major in _M4A_BRANDS:
        return M4A
    if major.startswith((b"3gp", b"3g2")):
        return THREE_GPP
    if major in _MP4_BRANDS:
        return MP4
    return replace(OCTET_STREAM, label=f"ISO media file of unknown brand {major.decode('latin-1')!r}")


def _ebml(head: bytes) -> DetectedType:
    """WebM or Matroska by the EBML header's DocType (Matroska when absent, its default)."""
    found = re.search(rb"\x42\x82([\x81-\x88])", head[4:64])
    if found is None:
        return MATROSKA
    start = 4 + found.end()
    doc_type = head[start : start + (found.group(1)[0] & 0x7F)]
    return {b"webm": WEBM, b"matroska": MATROSKA}.get(doc_type, OCTET_STREAM)


def _mz(head: bytes) -> DetectedType:
    if len(head) >= 64:
        pe_offset = int.from_bytes(head[60:64], "little")
        if head[pe_offset : pe_offset + 4] == b"PE\x00\x00":
            return PE
    return DOS_EXECUTABLE


def _cafebabe(head: bytes) -> DetectedType:
    # A fat Mach-O counts its architectures here (a handful); a class file has minor/major version.
    word = int.from_bytes(head[4:8], "big") if len(head) >= 8 else 0
    return JAVA_CLASS if word >= _JAVA_MIN_MAJOR else MACH_O_UNIVERSAL


def _script(head: bytes) -> DetectedType:
    words = head[2:256].split(b"\n", 1)[0].decode("latin-1").split()
    name = words[0].rsplit("/", 1)[-1] if words else ""
    if name == "env":
        rest = [word for word in words[1:] if not word.startswith("-") and "=" not in word]
        name = rest[0].rsplit("/", 1)[-1] if rest else ""
    if name in _SHELLS:
        return _INTERPRETERS["sh"]
    for prefix, detected in _INTERPRETERS.items():
        if name.startswith(prefix):
            return detected
    return DetectedType("text/x-script", f"script for {name or 'an unnamed interpreter'}", dangerous=True)


def _mp3_frame_length(data: bytes, pos: int) -> int | None:
    """The length of an MPEG audio layer III frame starting at ``pos``, or None if none starts there."""
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    version = (data[pos + 1] >> 3) & 3  # 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5, 1 reserved
    layer = (data[pos + 1] >> 1) & 3  # 1 = layer III
    bitrate_index = data[pos + 2] >> 4
    rate_index = (data[pos + 2] >> 2) & 3
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    bitrate = _MP3_BITRATES_KBPS[1 if version == 3 else 2][bitrate_index] * 1000
    rate = _MP3_SAMPLE_RATES[version][rate_index]
    padding = (data[pos + 2] >> 1) & 1
    return (144 if version == 3 else 72) * bitrate // rate + padding


def _mp3_frames_at(data: bytes, pos: int, *, complete: bool) -> bool:
    """A frame at ``pos`` and, where the bytes reach that far, another right after it."""
    length = _mp3_frame_length(data, pos)
    if length is None:
        return False
    following = pos + length
    if following + 4 <= len(data):
        return _mp3_frame_length(data, following) is not None
    # Too short to hold a second frame header: only a file that ends with its first frame is MP3.
    return not complete or following >= len(data)


def _mp3(head: bytes, *, complete: bool) -> DetectedType:
    if not head.startswith(b"ID3"):
        return MP3
    if len(head) < 10:
        return OCTET_STREAM
    size = 0
    for byte in head[6:10]:  # "syncsafe": 7 bits per byte
        size = (size << 7) | (byte & 0x7F)
    end = 10 + size + (10 if head[5] & 0x10 else 0)
    if end >= len(head):
        # The tag (often with cover art) runs past the head; the frames after it are not in view.
        return replace(MP3, label="ID3-tagged MP3 audio") if not complete else OCTET_STREAM
    while end < len(head) and head[end] == 0:
        end += 1
    if _mp3_frames_at(head, end, complete=complete):
        return MP3
    return replace(OCTET_STREAM, label="audio of an unknown kind with an ID3 tag")


def _markup(head: bytes) -> DetectedType | None:
    start = head[3:] if head.startswith(_BOM) else head
    start = start.lstrip(b" \t\r\n\f")
    lowered = start[:HEAD_BYTES].lower()
    svg_at = lowered.find(b"<svg")
    html_at = lowered.find(b"<html")
    if lowered.startswith((b"<?xml", b"<!--", b"<!doctype svg", b"<svg")):
        if svg_at >= 0 and (html_at < 0 or svg_at < html_at):
            detected = SVG
        elif html_at >= 0 or lowered.startswith(b"<!--"):
            detected = HTML
        else:
            detected = XML
    elif _HTML_START.match(lowered):
        detected = HTML
    else:
        return None
    return _with_script(detected) if _SCRIPT.search(head) else detected


def _with_script(detected: DetectedType) -> DetectedType:
    return {SVG: SVG_WITH_SCRIPT, HTML: HTML_WITH_SCRIPT, XML: XML_WITH_SCRIPT}.get(detected, detected)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def _text(head: bytes, *, complete: bool) -> DetectedType | None:
    if b"\x00" in head:
        return None
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return None
    if len(_CONTROL.findall(text)) > MAX_CONTROL_RATIO * len(text):
        return None
    return CSV if _looks_like_csv(text, complete=complete) else TEXT


def _looks_like_csv(text: str, *, complete: bool) -> bool:
    """At least two rows, each with the same number (≥ 2) of fields for one common delimiter."""
    lines = text.splitlines()
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the head may cut the last line short
    lines = [line for line in lines if line.strip()][:50]
    if len(lines) < 2:
        return False
    for delimiter in (",", ";", "\t", "|"):
        if not all(delimiter in line for line in lines[:2]):
            continue
        try:
            widths = {len(row) for row in csv.reader(lines, delimiter=delimiter, strict=True)}
        except csv.Error:
            continue
        if len(widths) == 1 and widths.pop() >= 2:
            return True
    return False


# --- ZIP containers -------------------------------------------------------------------------------

_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22


def _zip_names(buffer: bytes) -> list[str] | None:
    """Entry names from a ZIP's central directory held in ``buffer`` (its last bytes), or None.

    None when the directory is not all in the buffer, is ZIP64, has more than ``MAX_ZIP_ENTRIES``
    entries, or is damaged. Only names are read: nothing is ever decompressed.
    """
    eocd = _find_eocd(buffer)
    if eocd is None:
        return None
    entries, cd_size, cd_offset = struct.unpack_from("<HII", buffer, eocd + 10)
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        return None  # ZIP64: a document that big is not evidence this service inspects
    if entries > MAX_ZIP_ENTRIES or cd_size > eocd:
        return None
    try:
        # ZipFile finds the directory relative to the end record, so a buffer holding just the
        # end of a larger file lists correctly (member offsets come out wrong, but none is opened).
        with zipfile.ZipFile(io.BytesIO(buffer)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError, struct.error):
        return None
    if len(infos) > MAX_ZIP_ENTRIES:
        return None
    return [info.filename for info in infos]


def _find_eocd(buffer: bytes) -> int | None:
    lowest = max(0, len(buffer) - _EOCD_SIZE - 0xFFFF)
    at = buffer.rfind(_EOCD, lowest)
    while at >= 0:
        if at + _EOCD_SIZE <= len(buffer):
            (comment_length,) = struct.unpack_from("<H", buffer, at + 20)
            if at + _EOCD_SIZE + comment_length <= len(buffer):
                return at
        at = buffer.rfind(_EOCD, lowest, at)
    return None


def _odf_mimetype(head: bytes) -> str | None:
    """The content of the stored ``mimetype`` entry ODF puts first in the archive, if it is there."""
    if len(head) < 30 or not head.startswith(b"PK\x03\x04"):
        return None
    method, compressed_size, name_length, extra_length = (
        struct.unpack_from("<H", head, 8)[0],
        struct.unpack_from("<I", head, 18)[0],
        *struct.unpack_from("<HH", head, 26),
    )
    if head[30 : 30 + name_length] != b"mimetype" or method != 0 or compressed_size > 128:
        return None
    start = 30 + name_length + extra_length
    return head[start : start + compressed_size].decode("ascii", errors="replace")


_OOXML = (("word/", DOCX, DOCM), ("xl/", XLSX, XLSM), ("ppt/", PPTX, PPTM))
_ODF = {t.media_type: t for t in (ODT, ODS, ODP, ODG)}


def _zip_kind(head: bytes, tail: bytes) -> DetectedType:
    names = _zip_names(tail)
    if names is None:
        return replace(ZIP, label="ZIP archive whose contents were not inspected")
    present = set(names)
    if "[Content_Types].xml" in present:
        macros = any(name.lower().endswith("vbaproject.bin") for name in names)
        for prefix, plain, with_macros in _OOXML:
            if any(name.startswith(prefix) for name in names):
                return with_macros if macros else plain
        return replace(ZIP, label="Office Open XML package of another kind")
    if "mimetype" in present:
        odf = _ODF.get(_odf_mimetype(head) or "")
        if odf is not None:
            if any(name.startswith(("Basic/", "Scripts/")) for name in names):
                return replace(odf, label=f"{odf.label} with macros", dangerous=True)
            return odf
    if "AndroidManifest.xml" in present and any(name.endswith(".dex") for name in names):
        return APK
    if "META-INF/MANIFEST.MF" in present or any(name.endswith(".class") for name in names):
        return JAR
    return ZIP


# --- following a stream ---------------------------------------------------------------------------


class _Sniffer:
    """The synchronous state machine behind ``sniff`` and ``ContentProbe``: feed chunks, then finish."""

    def __init__(self) -> None:
        self.size = 0
        self.head: _Head | None = None
        self._held: list[bytes] = []
        self._held_size = 0
        self._tail: deque[bytes] = deque()
        self._tail_size = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._chars = 0
        self._controls = 0
        self._not_text = False
        self._carry = b""
        self._script = False
        self._first = b""
        self.result: DetectedType | None = None

    @property
    def current(self) -> DetectedType | None:
        """The best knowledge so far (None before the head is decided)."""
        if self.head is None:
            return None
        if self.head.pending == "markup" and self._script:
            return _with_script(self.head.detected)
        return self.head.detected

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.size += len(chunk)
        if self.head is None:
            self._held.append(chunk)
            self._held_size += len(chunk)
            if self._held_size < HEAD_BYTES:
                return
            held = b"".join(self._held)
            self._held = []
            self._first = held[:HEAD_BYTES]
            self.head = _sniff_head(self._first, complete=False)
            self._follow(self.head, held)
        else:
            self._follow(self.head, chunk)

    def finish(self) -> DetectedType:
        if self.result is not None:
            return self.result
        if self.head is None:
            held = b"".join(self._held)
            self._held = []
            self._first = held
            self.head = _sniff_head(held, complete=True)
            self._follow(self.head, held)
        self.result = self._final(self.head)
        return self.result

    def _follow(self, head: _Head, chunk: bytes) -> None:
        pending = head.pending
        if pending == "zip":
            self._tail.append(chunk)
            self._tail_size += len(chunk)
            while self._tail_size - len(self._tail[0]) >= ZIP_TAIL_BYTES:
                self._tail_size -= len(self._tail.popleft())
        elif pending == "text" and not self._not_text:
            if b"\x00" in chunk:
                self._not_text = True
                return
            try:
                text = self._decoder.decode(chunk)
            except UnicodeDecodeError:
                self._not_text = True
                return
            self._chars += len(text)
            self._controls += len(_CONTROL.findall(text))
        elif pending == "markup" and not self._script:
            window = self._carry + chunk
            self._script = _SCRIPT.search(window) is not None
            self._carry = window[-_SCRIPT_CARRY:]

    def _final(self, head: _Head) -> DetectedType:
        if head.pending == "zip":
            # The ODF mimetype entry is in the first bytes, which the tail may not reach back to.
            return _zip_kind(self._first, b"".join(self._tail)[-ZIP_TAIL_BYTES:])
        if head.pending == "text":
            if not self._not_text:
                try:
                    self._chars += len(self._decoder.decode(b"", final=True))
                except UnicodeDecodeError:
                    self._not_text = True
            if self._not_text or self._controls > MAX_CONTROL_RATIO * self._chars:
                return replace(OCTET_STREAM, label="binary data, not UTF-8 text")
            return head.detected
        if head.pending == "markup":
            return _with_script(head.detected) if self._script else head.detected
        return head.detected


class ContentProbe:
    """Wraps an upload's chunks: passes them on unchanged while deciding what they are.

    With ``allowed``, iteration raises ``UnsupportedEvidenceType`` as soon as the content is known
    to be refused (a dangerous format after its first bytes, script in markup where it appears, a
    container at the end) — before the last chunk is handed on, so a store writing the chunks never
    completes the object. Read ``detected`` after the stream has been consumed::

        probe = ContentProbe(read_chunks(upload), allowed=requirement.allowed_types)
        stored = await store.put(key, probe, max_bytes=requirement.max_bytes)  # 413 / 415
        media_type = probe.detected.media_type
    """

    def __init__(self, chunks: Chunks, *, allowed: Set[str] | None = None) -> None:
        self._chunks = chunks
        self._allowed = allowed
        self._sniffer = _Sniffer()
        self._early_checked = False

    @property
    def detected(self) -> DetectedType:
        result = self._sniffer.result
        if result is None:
            raise RuntimeError("the content is decided only once the stream has been read to its end")
        return result

    @property
    def size(self) -> int:
        return self._sniffer.size

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._pass_through()

    async def _pass_through(self) -> AsyncIterator[bytes]:
        async for chunk in iterate_chunks(self._chunks):
            self._sniffer.feed(chunk)
            self._check_early()
            yield chunk
        detected = self._sniffer.finish()
        if self._allowed is not None:
            check_allowed(detected, self._allowed)

    def _check_early(self) -> None:
        current = self._sniffer.current
        if self._allowed is None or current is None:
            return
        head = self._sniffer.head
        if current.dangerous:
            raise UnsupportedEvidenceType(current, self._allowed)
        if not self._early_checked and head is not None and head.pending != "zip":
            # Text and markup can only turn into something refused-or-worse later; other formats
            # are final. Containers wait for their directory.
            self._early_checked = True
            check_allowed(current, self._allowed)


def sniff(data: bytes) -> DetectedType:
    """What ``data`` (a whole file in memory) is."""
    sniffer = _Sniffer()
    sniffer.feed(data)
    return sniffer.finish()


async def sniff_chunks(chunks: Chunks) -> DetectedType:
    """What a stream of chunks is (e.g. a stored object: ``await sniff_chunks(await store.open(key))``)."""
    sniffer = _Sniffer()
    async for chunk in iterate_chunks(chunks):
        sniffer.feed(chunk)
    return sniffer.finish()
