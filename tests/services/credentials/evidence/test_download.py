"""Downloading an evidence file: it is named (RFC 6266, RFC 8187 for names beyond ASCII) and
carries its SHA-256 as RFC 9530 ``Repr-Digest``."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import unquote

from tests.services.credentials.submissions.test_review_story import _setup, _tier1, pdf_bytes, scores
from tests.services.credentials.test_designs_and_pursuits import Credentials, credentials  # noqa: F401


async def test_a_download_names_the_file_and_gives_its_digest(credentials: Credentials, backend: str) -> None:  # noqa: F811
    c = credentials
    pursuit_id, educator = await _setup(c)
    first = await _tier1(c, pursuit_id, educator)
    await c.client.post(
        f"/v1/reviews/{first['reviews'][0]['id']}/scores",
        json={"scores": scores()},
        headers=c.as_("assessor", first["reviews"][0]["assessor_id"]),
    )
    opened = await c.client.post(
        f"/v1/pursuits/{pursuit_id}/submissions", json={"tier": "implementation"}, headers=educator
    )
    sid = opened.json()["id"]
    document = pdf_bytes()
    name = "Plan de leçon \u2013 été.pdf"  # an en dash, accents
    added = await c.client.post(
        f"/v1/submissions/{sid}/evidence",
        data={"requirement": "artifacts"},
        files={"file": (name, document, "application/pdf")},
        headers=educator,
    )
    assert added.status_code == 201, added.text

    download = await c.client.get(f"/v1/submissions/{sid}/evidence/{added.json()['id']}/content", headers=educator)
    assert download.status_code == 200
    assert download.content == document
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"Plan de lecon _ ete.pdf\"; filename*=UTF-8''")
    assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == name
    digest = download.headers["repr-digest"]
    assert digest == "sha-256=:" + base64.b64encode(hashlib.sha256(document).digest()).decode() + ":"
    assert "digest" not in download.headers, "the obsolete RFC 3230 header is gone"
