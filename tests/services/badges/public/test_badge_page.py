"""The public badge page over plain HTTP: what it shows, content negotiation on the credential's
URL, escaping of hostile text, privacy by default, and who may change what is shared.

The same page in a real browser: tests/e2e/test_badge_page_browser.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.badges.deps import badges_state
from services.badges.events import handlers
from services.credentials.schemas import AwardedEvidence, AwardedResult, AwardGranted
from shared.events import EventEnvelope
from tests.services.badges.conftest import ACHIEVEMENT, Badges, issuing_as_of
from tests.support import identity_headers, token_service

# What Chromium sends when it navigates to a page.
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8"
VOID = frozenset({"meta", "link", "img", "input", "br", "hr", "source", "wbr"})


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


@dataclass
class Parsed(HTMLParser):
    """Every element with its attributes and its text, as a browser's parser would read them."""

    html: str
    elements: list[Element] = field(default_factory=list)
    visible: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._open: list[Element] = []
        self.feed(self.html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].tag == tag:
                del self._open[i:]
                return

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data
        if not any(e.tag in ("script", "style", "title", "textarea") for e in self._open):
            self.visible.append(data)

    def all(self, tag: str, **attrs: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and all(e.attrs.get(k) == v for k, v in attrs.items())]

    def one(self, tag: str, **attrs: str) -> Element:
        (found,) = self.all(tag, **attrs)
        return found

    def by_id(self, element_id: str) -> Element | None:
        return next((e for e in self.elements if e.attrs.get("id") == element_id), None)

    def meta(self, key: str) -> str | None:
        found = [e for e in self.all("meta") if key in (e.attrs.get("property"), e.attrs.get("name"))]
        return found[0].attrs.get("content") if found else None

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.visible).split())


def path(url: str) -> str:
    """The path of one of the service's public URLs (the app is reached without the gateway)."""
    return "/ob/" + url.split("/ob/", 1)[1]


def words(text: str) -> str:
    return " ".join(text.split())


async def page(badges: Badges, badge_id: str, accept: str = BROWSER) -> Parsed:
    response = await badges.client.get(f"/ob/badges/{badge_id}", headers={"accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return Parsed(response.text)


async def issued(badges: Badges, achievement_id: str, **overrides: Any) -> dict[str, Any]:
    response = await badges.issue(achievement_id, **overrides)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def setup(badges: Badges, *, suspendable: bool = False, **achievement: Any) -> tuple[dict[str, Any], str]:
    issuer = await badges.issuer(suspendable=suspendable)
    created = await badges.achievement(issuer["id"], **achievement)
    return issuer, str(created["id"])


EVIDENCE = [{"url": "https://portfolio.example/ed/lesson-1", "name": "Lesson plan", "description": "Week 3"}]


async def test_a_fresh_badge_has_a_page_with_everything_a_viewer_needs(badges: Badges, backend: str) -> None:
    issuer, achievement_id = await setup(badges)
    badge = await issued(badges, achievement_id, evidence=EVIDENCE)
    links = badge["links"]
    response = await badges.client.get(f"/ob/badges/{badge['id']}")
    doc = Parsed(response.text)
    image = doc.one("img")
    status = doc.by_id("status")
    linkedin = doc.by_id("linkedin")
    assert status is not None
    assert linkedin is not None
    query = parse_qs(urlsplit(linkedin.attrs["href"]).query)
    issued_at = dt.datetime.fromisoformat(badge["credential"]["awardedDate"].replace("Z", "+00:00"))

    assert response.status_code == 200
    assert links["page"] == f"{badges_state(badges.app).urls.base}/ob/badges/{badge['id']}"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'sha256-" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["vary"] == "Accept"
    assert doc.one("html").attrs["lang"] == "en"
    assert doc.meta("viewport") == "width=device-width, initial-scale=1"
    assert doc.one("h1").text == ACHIEVEMENT["name"]
    assert image.attrs["src"] == badge["credential"]["credentialSubject"]["achievement"]["image"]["id"]
    assert image.attrs["alt"] == f"Badge image: {ACHIEVEMENT['name']}"
    assert (status.text, status.attrs["data-status"]) == ("Verified", "verified")
    assert f"Issued by {issuer['name']}" in doc.text
    assert "Submit a lesson plan and a reflection." in doc.text, "the criteria's Markdown is shown as such"
    assert "lesson plan" in [e.text for e in doc.all("strong")]
    alignment = ACHIEVEMENT["alignments"][0]
    assert doc.one("a", href=alignment["target_url"]).text == alignment["target_name"]
    assert doc.one("time").attrs["datetime"] == badge["credential"]["awardedDate"]
    # Link previews.
    assert doc.meta("og:title") == ACHIEVEMENT["name"]
    assert doc.meta("og:url") == links["page"]
    assert doc.meta("og:image") == doc.meta("twitter:image") == links["baked_png"], "previews need a PNG"
    assert doc.meta("twitter:card") == "summary"
    assert doc.one("link", rel="canonical").attrs["href"] == links["page"]
    # Downloads: baked images, JSON and JWT.
    downloads = {a.attrs["href"] for a in doc.all("a") if "download" in a.attrs}
    assert {links["baked_png"], links["baked_svg"], links["credential"] + "?format=json", links["jwt"]} <= downloads
    # LinkedIn's add-to-profile link, with its documented parameter names.
    assert linkedin.attrs["href"].startswith("https://www.linkedin.com/profile/add?")
    assert query == {
        "startTask": ["CERTIFICATION_NAME"],
        "name": [ACHIEVEMENT["name"]],
        "organizationName": [issuer["name"]],
        "issueYear": [str(issued_at.year)],
        "issueMonth": [str(issued_at.month)],
        "certUrl": [links["page"]],
        "certId": [badge["id"]],
    }
    # The embed snippet is HTML showing the badge image and linking to the page.
    embed = doc.by_id("embed")
    assert embed is not None
    snippet = Parsed(embed.text)
    assert snippet.one("a").attrs["href"] == links["page"]
    assert snippet.one("img").attrs["src"] == image.attrs["src"]
    # Nothing personal until the earner says so (issued with a display name, results, evidence).
    assert "Ed Educator" not in response.text
    assert doc.by_id("results") is None
    assert doc.by_id("evidence") is None
    assert EVIDENCE[0]["url"] not in response.text


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (BROWSER, "text/html"),
        ("application/ld+json;q=0.5, text/html", "text/html"),
        (None, "application/vc+ld+json"),
        ("*/*", "application/vc+ld+json"),
        ("application/json", "application/vc+ld+json"),
        ("application/ld+json", "application/ld+json"),
        ("text/html;q=0.5, application/ld+json", "application/ld+json"),
        ("text/html, application/json", "application/vc+ld+json"),  # a tie goes to JSON
        ("text/html;q=0", "application/vc+ld+json"),  # q=0: not acceptable at all
        ("text/html;q=high", "application/vc+ld+json"),
        ("application/jwt", "application/jwt"),
    ],
)
async def test_the_credential_url_gives_browsers_the_page_and_clients_the_credential(
    badges: Badges, backend: str, accept: str | None, media_type: str
) -> None:
    _issuer, achievement_id = await setup(badges)
    badge = await issued(badges, achievement_id)
    headers = {"accept": accept} if accept is not None else {}
    response = await badges.client.get(f"/ob/credentials/{badge['id']}", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.headers["vary"] == "Accept"
    if media_type.endswith("json"):
        assert response.json() == badge["credential"]
    elif media_type == "text/html":
        assert Parsed(response.text).one("h1").text == ACHIEVEMENT["name"]


async def test_the_json_download_is_json_even_for_a_browser(badges: Badges, backend: str) -> None:
    _issuer, achievement_id = await setup(badges)
    badge = await issued(badges, achievement_id)
    url = f"/ob/credentials/{badge['id']}"
    forced = await badges.client.get(url, params={"format": "json"}, headers={"accept": BROWSER})
    unknown = await badges.client.get(url, params={"format": "xml"}, headers={"accept": BROWSER})
    assert forced.headers["content-type"] == "application/vc+ld+json"
    assert forced.json() == badge["credential"]
    assert unknown.status_code == 422
    assert unknown.headers["content-type"] == "application/problem+json"


async def test_an_unknown_badge_is_a_404_page_for_browsers_and_a_problem_for_clients(
    badges: Badges, backend: str
) -> None:
    missing = str(uuid.uuid4())
    for path in (f"/ob/badges/{missing}", f"/ob/credentials/{missing}"):
        html = await badges.client.get(path, headers={"accept": BROWSER})
        problem = await badges.client.get(path, headers={"accept": "application/json"})
        assert html.status_code == 404, path
        assert html.headers["content-type"] == "text/html; charset=utf-8"
        assert "default-src 'none'" in html.headers["content-security-policy"]
        assert Parsed(html.text).one("h1").text == "Badge not found"
        assert problem.status_code == 404, path
        assert problem.headers["content-type"] == "application/problem+json"
    too_long = await badges.client.get("/ob/badges/" + "x" * 201, headers={"accept": BROWSER})
    assert too_long.status_code == 422


HOSTILE = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'


async def test_hostile_text_is_shown_as_text_and_never_runs(badges: Badges, backend: str) -> None:
    rubric = [
        {
            "key": "plan",
            "name": f"Plan {HOSTILE}",
            "levels": [{"key": "proficient", "name": f"Proficient {HOSTILE}"}],
        }
    ]
    issuer, achievement_id = await setup(
        badges,
        name=f"Name {HOSTILE}",
        description=f"Description {HOSTILE}",
        criteria={"narrative": f"</p>{HOSTILE}"},
        alignments=[{"target_name": f"Competency {HOSTILE}", "target_url": "https://case.example/uri/1"}],
        result_descriptions=rubric,
    )
    evidence = [{"url": "https://portfolio.example/x?a=1&b='2'", "name": f"Evidence {HOSTILE}"}]
    badge = await issued(badges, achievement_id, evidence=evidence, recipient={"email": "e@demo.test", "name": HOSTILE})
    shared = await badges.client.patch(
        f"/v1/badges/{badge['id']}/sharing",
        json={"show_name": True, "show_results": True, "show_evidence": True},
        headers=badges.as_(),
    )
    assert shared.status_code == 200, shared.text
    response = await badges.client.get(f"/ob/badges/{badge['id']}", headers={"accept": BROWSER})
    doc = Parsed(response.text)
    (script,) = doc.all("script")
    embed = doc.by_id("embed")
    recipient = doc.by_id("recipient-name")
    linkedin = doc.by_id("linkedin")
    assert embed is not None
    assert recipient is not None
    assert linkedin is not None

    assert "<script>alert" not in response.text
    assert "alert" not in script.text, "the only script is the page's own"
    assert len(doc.all("img")) == 1, "no element came out of the text"
    assert not [(e.tag, name) for e in doc.elements for name in e.attrs if name.startswith("on")]
    # ... and every piece reads back exactly as it was written.
    assert doc.one("h1").text == f"Name {HOSTILE}"
    assert recipient.text == HOSTILE
    assert doc.meta("og:title") == f"{HOSTILE} earned Name {HOSTILE}"
    assert f"Description {HOSTILE}" in doc.text
    assert f"</p>{HOSTILE}" in doc.text
    assert doc.one("a", href="https://case.example/uri/1").text == f"Competency {HOSTILE}"
    assert [words(td.text) for td in doc.all("td")] == [f"Plan {HOSTILE}", f"Proficient {HOSTILE}"]
    assert words(doc.one("a", rel="nofollow noopener ugc").text) == f"Evidence {HOSTILE}"
    assert parse_qs(urlsplit(linkedin.attrs["href"]).query)["name"] == [f"Name {HOSTILE}"]
    # The snippet is itself safe HTML: pasted into a portfolio, it shows the text too.
    snippet = Parsed(embed.text)
    assert not snippet.all("script")
    assert len(snippet.all("img")) == 1
    assert snippet.one("img").attrs["alt"] == f"Name {HOSTILE} — issued by {issuer['name']}"


async def status_of(badges: Badges, badge_id: str) -> tuple[str, str]:
    doc = await page(badges, badge_id)
    status = doc.by_id("status")
    assert status is not None
    return status.text, status.attrs["data-status"]


async def test_the_page_shows_the_live_status(badges: Badges, backend: str) -> None:
    _issuer, achievement_id = await setup(badges, suspendable=True)
    badge = await issued(badges, achievement_id)
    now = dt.datetime.now(dt.UTC)
    with issuing_as_of(now - dt.timedelta(days=400)):
        expired = await issued(
            badges,
            achievement_id,
            valid_from=(now - dt.timedelta(days=400)).isoformat(),
            valid_until=(now - dt.timedelta(days=1)).isoformat(),
        )
    future = await issued(badges, achievement_id, valid_from=(now + dt.timedelta(days=3)).isoformat())

    def act(action: str) -> Any:
        return badges.client.post(f"/v1/badges/{badge['id']}/{action}", json={}, headers=badges.as_())

    seen = [await status_of(badges, badge["id"])]
    for action in ("suspend", "reinstate", "revoke"):
        assert (await act(action)).status_code == 200
        seen.append(await status_of(badges, badge["id"]))
    expired_page = await page(badges, expired["id"])
    linkedin = expired_page.by_id("linkedin")
    assert linkedin is not None

    assert seen == [
        ("Verified", "verified"),
        ("Suspended", "suspended"),
        ("Verified", "verified"),
        ("Revoked", "revoked"),
    ]
    assert await status_of(badges, expired["id"]) == ("Expired", "expired")
    assert "Expired" in [dt_.text for dt_ in expired_page.all("dt")]
    until = dt.datetime.fromisoformat(expired["credential"]["validUntil"].replace("Z", "+00:00"))
    query = parse_qs(urlsplit(linkedin.attrs["href"]).query)
    assert (query["expirationYear"], query["expirationMonth"]) == ([str(until.year)], [str(until.month)])
    assert await status_of(badges, future["id"]) == ("Not yet valid", "pending")
    # The verifier says the same (the page uses it): POST /v1/verify.
    verified = await badges.client.post("/v1/verify", json={"credential": badge["credential"]})
    assert verified.json()["status"] == "revoked"


def offered(doc: Parsed) -> dict[str, Any]:
    """What the page offers to take away: download links, the LinkedIn link, the embed code."""
    return {
        "downloads": sorted(a.attrs["href"] for a in doc.all("a") if "download" in a.attrs),
        "linkedin": doc.by_id("linkedin") is not None,
        "embed": doc.by_id("embed") is not None,
        "copy buttons": len(doc.all("button")),
    }


async def test_a_revoked_or_suspended_badge_is_offered_to_nobody_to_share(badges: Badges, backend: str) -> None:
    _issuer, achievement_id = await setup(badges, suspendable=True)
    badge = await issued(badges, achievement_id)
    links = badge["links"]

    def act(action: str) -> Any:
        return badges.client.post(f"/v1/badges/{badge['id']}/{action}", json={}, headers=badges.as_())

    pages = {"active": await page(badges, badge["id"])}
    for action, state in (("suspend", "suspended"), ("reinstate", "reinstated"), ("revoke", "revoked")):
        assert (await act(action)).status_code == 200
        pages[state] = await page(badges, badge["id"])
    # What a verifier (or a backpack) fetches still answers for the revoked badge: the signed
    # documents tell it the status. Only the page stops offering them.
    served = {
        name: (await badges.client.get(path(url), params=params)).status_code
        for name, url, params in (
            ("json", links["credential"], {"format": "json"}),
            ("jwt", links["jwt"], {}),
            ("baked png", links["baked_png"], {}),
            ("ob2 jws", links["ob2_jws"], {}),
            ("ob2 hosted", links["ob2_assertion"], {}),
        )
    }

    full = offered(pages["active"])
    assert full == {
        "downloads": sorted(
            [
                links["baked_png"],
                links["baked_svg"],
                links["credential"] + "?format=json",
                links["jwt"],
                links["ob2_baked_png"],
                links["ob2_assertion"],
            ]
        ),
        "linkedin": True,
        "embed": True,
        "copy buttons": 2,
    }
    assert pages["active"].by_id("sharing-withheld") is None
    assert offered(pages["reinstated"]) == full, "reinstating offers it all again"
    nothing = {"downloads": [], "linkedin": False, "embed": False, "copy buttons": 0}
    for state, said in (("suspended", "This badge is suspended"), ("revoked", "This badge was revoked")):
        doc = pages[state]
        withheld = doc.by_id("sharing-withheld")
        assert offered(doc) == nothing, state
        assert withheld is not None
        assert words(withheld.text).startswith(f"{said}, so it cannot be downloaded or shared from this page")
        assert "linkedin.com" not in doc.html
        assert doc.by_id("page-link") is None
        # The credential's address stays on the page for verifiers, as text and as a link relation.
        assert doc.one("link", rel="alternate").attrs["href"] == links["credential"]
        assert links["credential"] in doc.text
    assert served == {"json": 200, "jwt": 200, "baked png": 200, "ob2 jws": 200, "ob2 hosted": 410}


async def test_what_was_checked_shows_the_official_schema_s_finding_as_a_warning(badges: Badges, backend: str) -> None:
    _issuer, suspendable_id = await setup(badges, suspendable=True)
    _other, plain_id = await setup(badges)
    two_entries = await page(badges, (await issued(badges, suspendable_id))["id"])
    one_entry = await page(badges, (await issued(badges, plain_id))["id"])

    warned = two_entries.one("li", **{"data-check": "schema"})
    passed = one_entry.one("li", **{"data-check": "schema"})
    status = two_entries.by_id("status")
    assert status is not None
    assert (status.text, status.attrs["data-status"]) == ("Verified", "verified")
    assert warned.attrs["class"] == "check-warn"
    assert words(warned.text).startswith("schema (warning): the official OB 3.0 AchievementCredential JSON Schema")
    assert "rejects /credentialStatus" in warned.text
    assert "valid against" not in two_entries.html
    assert passed.attrs["class"] == "check-pass"
    assert "valid against the OB 3.0 AchievementCredential JSON Schema" in passed.text
    assert {e.attrs["class"] for e in two_entries.all("li") if "data-check" in e.attrs} == {"check-pass", "check-warn"}


async def sharing(badges: Badges, badge_id: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return await badges.client.patch(
        f"/v1/badges/{badge_id}/sharing", json=body, headers=headers if headers is not None else badges.as_()
    )


async def test_nothing_personal_is_public_until_it_is_shared(badges: Badges, backend: str) -> None:
    _issuer, achievement_id = await setup(badges)
    badge = await issued(badges, achievement_id, evidence=EVIDENCE)
    before = await page(badges, badge["id"])

    everything = await sharing(badges, badge["id"], {"show_name": True, "show_results": True, "show_evidence": True})
    shown = await page(badges, badge["id"])
    fewer = await sharing(badges, badge["id"], {"show_results": False, "recipient_name": "Edwina Educator"})
    renamed = await page(badges, badge["id"])
    hidden = await sharing(badges, badge["id"], {"show_name": False, "recipient_name": None, "show_evidence": False})
    again = await page(badges, badge["id"])

    assert badge["sharing"] == {
        "show_name": False,
        "recipient_name": "Ed Educator",
        "show_results": False,
        "show_evidence": False,
        "earner_id": None,
    }
    assert before.by_id("recipient-name") is None
    assert "Ed Educator" not in before.html
    assert everything.status_code == 200, everything.text
    assert everything.json()["sharing"]["show_results"] is True
    name = shown.by_id("recipient-name")
    assert name is not None
    assert name.text == "Ed Educator"
    assert shown.meta("og:title") == f"Ed Educator earned {ACHIEVEMENT['name']}"
    assert [words(td.text) for td in shown.all("td")] == ["Lesson plan", "Proficient"]
    assert shown.one("a", href=EVIDENCE[0]["url"]).text == "Lesson plan"
    assert "Week 3" in shown.text
    assert fewer.status_code == 200, fewer.text
    assert renamed.by_id("results") is None
    assert "Edwina Educator" in renamed.text
    assert renamed.by_id("evidence") is not None
    assert hidden.json()["sharing"] == {
        "show_name": False,
        "recipient_name": None,
        "show_results": False,
        "show_evidence": False,
        "earner_id": None,
    }
    assert "Edwina" not in again.html
    assert again.by_id("evidence") is None


async def award_badge(badges: Badges, **award: Any) -> dict[str, Any]:
    """A badge issued the way the credentials service's award.granted event issues it."""
    _issuer, achievement_id = await setup(badges)
    payload = AwardGranted(
        award_id=str(uuid.uuid4()),
        achievement_id=achievement_id,
        recipient_email="earner@demo.test",
        results=[AwardedResult(criterion="plan", level="proficient")],
        awarded_at=dt.datetime.now(dt.UTC),
        **award,
    )
    envelope = EventEnvelope(
        id=uuid.uuid4(),
        type="award.granted",
        source="credentials",
        tenant_id="tenant-a",
        occurred_at=dt.datetime.now(dt.UTC),
        payload=payload.model_dump(mode="json"),
    )
    async with badges_state(badges.app).sessionmaker() as session:
        await handlers(badges.app)["award.granted"](session, envelope)
        await session.commit()
    (badge,) = (await badges.client.get("/v1/badges", headers=badges.as_())).json()["items"]
    return dict(badge)


def person(badges: Badges, role: str, subject: str, tenant: str = "tenant-a") -> dict[str, str]:
    return identity_headers(badges.keys_dir, "badges", roles=frozenset({role}), tenant_id=tenant, subject=subject)


async def test_the_earner_and_issuers_choose_and_nobody_else(badges: Badges, backend: str) -> None:
    badge = await award_badge(
        badges,
        educator_id="user:earner",
        recipient_name="Ed\x07 Earner",
        evidence=[AwardedEvidence(url="https://portfolio.example/earner/plan", name="Plan")],
        evidence_public=True,
    )
    bid = badge["id"]
    by_earner = await sharing(badges, bid, {"show_name": True}, person(badges, "educator", "user:earner"))
    by_issuer = await sharing(badges, bid, {"show_results": True})
    by_colleague = await sharing(badges, bid, {"show_name": False}, person(badges, "educator", "user:colleague"))
    by_hr = await sharing(badges, bid, {"show_name": False}, person(badges, "hr", "user:hr"))
    by_admin = await sharing(badges, bid, {"show_name": False}, person(badges, "tenant_admin", "user:admin"))
    same_id_elsewhere = await sharing(
        badges, bid, {"show_name": False}, person(badges, "educator", "user:earner", tenant="tenant-b")
    )
    anonymous = await sharing(badges, bid, {"show_name": False}, {})
    after = (await badges.client.get(f"/v1/badges/{bid}", headers=badges.as_())).json()["sharing"]

    # The award's choices arrive with it: the educator made the evidence public when submitting.
    assert badge["sharing"] == {
        "show_name": False,
        "recipient_name": "Ed Earner",
        "show_results": False,
        "show_evidence": True,
        "earner_id": "user:earner",
    }
    assert by_earner.status_code == 200, by_earner.text
    assert by_issuer.status_code == 200, by_issuer.text
    for refused in (by_colleague, by_hr, by_admin):
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    assert same_id_elsewhere.status_code == 404, "another tenant's badge does not exist for the caller"
    assert anonymous.status_code == 401
    assert after == {**badge["sharing"], "show_name": True, "show_results": True}


async def test_the_earner_is_known_by_their_directory_email_too(badges: Badges, backend: str) -> None:
    from services.gateway.identity.tokens import AccessClaims

    if "email" not in AccessClaims.__dataclass_fields__:
        pytest.skip("the gateway does not carry people's email in tokens yet")
    _issuer, achievement_id = await setup(badges)
    badge = await issued(badges, achievement_id, recipient={"email": " Ed@Demo.Test "})

    def with_email(email: str) -> dict[str, str]:
        claims = AccessClaims(  # type: ignore[call-arg]
            subject="user:ed",
            tenant_id="tenant-a",
            kind="user",
            roles=("educator",),
            scopes=("badges:read",),
            client_id=None,
            expires_at=0,
            email=email,
        )
        return {
            "x-practicum-identity": token_service(badges.keys_dir).internal(claims, audience="badges", request_id=None)
        }

    mine = await sharing(badges, badge["id"], {"show_results": True}, with_email("ed@demo.test"))
    theirs = await sharing(badges, badge["id"], {"show_results": False}, with_email("someone@demo.test"))
    assert mine.status_code == 200, mine.text
    assert theirs.status_code == 403


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "/body"),
        ({"show_name": None}, "/body/show_name"),
        ({"show_name": "yes"}, "/body/show_name"),
        ({"show_results": 1}, "/body/show_results"),
        ({"show_evidence": True, "surprise": True}, "/body/surprise"),
        ({"recipient_name": ""}, "/body/recipient_name"),
        ({"recipient_name": "x" * 201}, "/body/recipient_name"),
        ({"recipient_name": "Ed\x07"}, "/body/recipient_name"),
        ({"show_results": True, "recipient_name": None, "show_name": True}, "/body/recipient_name"),
    ],
)
async def test_sharing_changes_are_checked_whole_before_anything_changes(
    badges: Badges, backend: str, body: dict[str, Any], pointer: str
) -> None:
    _issuer, achievement_id = await setup(badges)
    badge = await issued(badges, achievement_id)
    refused = await sharing(badges, badge["id"], body)
    after = (await badges.client.get(f"/v1/badges/{badge['id']}", headers=badges.as_())).json()["sharing"]
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert pointer in [e["pointer"] for e in refused.json().get("errors", [])] or pointer == "/body"
    assert after == badge["sharing"], "nothing half-written"


def test_criteria_markdown_is_a_small_escaped_subset() -> None:
    from services.badges.public.page_view import markdown_lite

    text = "Do **this** and *that*.\n\n- one <b>\n- two\n\n[link](javascript:alert(1)) snake_case_name 2*3*4\nnext"
    assert str(markdown_lite(text)) == (
        "<p>Do <strong>this</strong> and <em>that</em>.</p>"
        '<ul class="plain"><li>one &lt;b&gt;</li><li>two</li></ul>'
        "<p>[link](javascript:alert(1)) snake_case_name 2*3*4<br>next</p>"
    )
