"""Download headers: RFC 6266/8187 file names and the RFC 9530 digest."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import unquote

import pytest

from shared.downloads import content_disposition, repr_digest


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("plan.pdf", 'attachment; filename="plan.pdf"'),
        ("lesson plan (v2).pdf", 'attachment; filename="lesson plan (v2).pdf"'),
        ("C:\\fakepath\\notes.docx", 'attachment; filename="notes.docx"'),
        ("../../etc/passwd", 'attachment; filename="passwd"'),
        ('say "hi".txt', "attachment; filename=\"say _hi_.txt\"; filename*=UTF-8''say%20%22hi%22.txt"),
        (
            "Résumé été.pdf",
            "attachment; filename=\"Resume ete.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%C3%A9t%C3%A9.pdf",
        ),
        (
            "evil\r\nSet-Cookie: x.pdf",
            "attachment; filename=\"evil__Set-Cookie: x.pdf\"; filename*=UTF-8''evil%0D%0ASet-Cookie%3A%20x.pdf",
        ),
        ("", 'attachment; filename="download"'),
    ],
)
def test_the_file_name_is_safe_ascii_with_the_exact_name_in_utf8(name: str, expected: str) -> None:
    header = content_disposition(name)
    assert header == expected
    assert all(" " <= char <= "~" for char in header), "a header value is visible ASCII"


def test_a_name_with_no_ascii_at_all_falls_back_and_keeps_the_real_one() -> None:
    header = content_disposition("報告書.pdf")
    assert header.startswith('attachment; filename="___.pdf"; ')
    assert unquote(header.split("filename*=UTF-8''")[1]) == "報告書.pdf"


def test_repr_digest_is_a_structured_field_byte_sequence() -> None:
    data = b"%PDF-1.7 evidence"
    header = repr_digest(hashlib.sha256(data).hexdigest())
    assert header.startswith("sha-256=:")
    assert header.endswith(":")
    assert base64.b64decode(header.removeprefix("sha-256=:").removesuffix(":")) == hashlib.sha256(data).digest()
