"""What the public badge page shows, read from the signed credential and the verifier's report.

Pure functions, no I/O: the page states only what the credential says (the achievement, issuer and
dates as signed), the live status as the verifier found it, and the personal parts (display name,
rubric results, evidence links) only as far as the earner's sharing choices allow (ADR 0014).
Escaping is the template's job (Jinja2 autoescape); links are kept only when they are http(s).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from markupsafe import Markup

from services.badges.models import Badge
from services.badges.openbadges import documents as docs
from services.badges.schemas import VerifyReport

LINKEDIN_ADD = "https://www.linkedin.com/profile/add"


@dataclass(frozen=True)
class Status:
    key: str  # verified | revoked | suspended | expired | pending | unverified (a CSS class too)
    label: str
    explanation: str


@dataclass(frozen=True)
class Moment:
    iso: str  # for <time datetime>
    text: str  # for people: "March 4, 2027" (UTC)


@dataclass(frozen=True)
class Alignment:
    name: str
    url: str | None
    framework: str | None
    code: str | None


@dataclass(frozen=True)
class Result:
    criterion: str
    level: str


@dataclass(frozen=True)
class EvidenceLink:
    name: str
    url: str | None
    description: str | None


@dataclass(frozen=True)
class Download:
    label: str
    url: str
    filename: str
    hint: str


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    message: str
    warning: bool = False  # failed, but does not stop the badge verifying


# Statuses whose page offers downloads and sharing: the badge stands (an expired one is still a
# true record of what was earned, and LinkedIn's entry carries its expiry date). A revoked or
# suspended badge, or one that does not verify, is offered to nobody to spread; its credential
# stays at its URL for verifiers, who learn its status there.
SHAREABLE = frozenset({"verified", "expired", "pending"})  # every other status is in _WITHHELD
_WITHHELD = {
    "revoked": "This badge was revoked, so it cannot be downloaded or shared from this page.",
    "suspended": "This badge is suspended, so it cannot be downloaded or shared from this page while the hold lasts.",
    "unverified": "This badge does not verify, so it cannot be downloaded or shared from this page.",
}


@dataclass
class BadgePageView:
    badge_id: str
    name: str
    description: str
    image_url: str | None
    image_alt: str
    preview_image_url: str  # for link previews: always a PNG (crawlers rarely show SVG)
    issuer_name: str
    issuer_url: str | None
    recipient_name: str | None
    criteria_narrative: Markup | None
    criteria_url: str | None
    alignments: list[Alignment]
    results: list[Result] | None  # None: not shared (a shared empty list shows nothing either)
    evidence: list[EvidenceLink] | None
    issued: Moment | None
    expires: Moment | None
    expired: bool
    status: Status
    checks: list[Check]
    page_url: str
    credential_url: str
    downloads: list[Download]  # empty when sharing is withheld
    linkedin_url: str | None  # None when sharing is withheld
    embed_snippet: str | None
    meta_description: str
    share_title: str
    more_formats: list[Download] = field(default_factory=list)
    # Lineage (services/badges/issuing/reissue.py): the page of the badge this one replaces, and of the
    # one that replaced it; ``reissue_kind`` says why this one was issued again.
    replaces_url: str | None = None
    replaced_by_url: str | None = None
    reissue_kind: str | None = None
    # Why the page offers no downloads, LinkedIn link or embed code (None: it offers them).
    sharing_withheld: str | None = None


def safe_url(value: Any) -> str | None:
    """An http(s) URL fit for an href, else None (never ``javascript:`` or ``data:``)."""
    if not isinstance(value, str):
        return None
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _moment(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _shown(moment: dt.datetime | None) -> Moment | None:
    if moment is None:
        return None
    utc = moment.astimezone(dt.UTC)
    return Moment(iso=docs.iso(utc), text=f"{utc:%B} {utc.day}, {utc.year}")


def status_of(report: VerifyReport, *, starts_later: bool = False) -> Status:
    """The page's words for the verifier's answer; anything short of fully verified says so.

    ``starts_later``: the credential's validFrom is still ahead. The verifier then fails only its
    validity check while the status stays active; the page says why instead of "not verified".
    """
    if report.status == "revoked":
        return Status("revoked", "Revoked", "The issuer has revoked this badge. It is no longer valid.")
    if report.status == "suspended":
        return Status("suspended", "Suspended", "The issuer has suspended this badge. It is not valid while suspended.")
    if report.status == "expired":
        return Status("expired", "Expired", "This badge has passed its expiry date.")
    # A warning (the official schema's refusal of a status array, ADR 0010) is shown among the
    # checks but, as in ``report.verified``, does not count against the badge.
    failed = {check.name for check in report.checks if not check.passed and check.severity == "error"}
    if report.status == "not yet valid" or (starts_later and failed == {"validity"}):
        return Status("pending", "Not yet valid", "This badge becomes valid on its start date.")
    if report.verified:
        return Status(
            "verified",
            "Verified",
            "The issuer's signature is valid and the badge is neither revoked, suspended nor expired.",
        )
    return Status("unverified", "Not verified", "This badge could not be verified; see the checks below.")


def linkedin_url(
    *,
    name: str,
    organization: str,
    issued: dt.datetime | None,
    expires: dt.datetime | None,
    page_url: str,
    cert_id: str,
) -> str:
    """LinkedIn's "Add to profile" link for the Licenses & certifications section: certification
    name, issuing organization, issue (and expiry) month and year, the page as the certificate URL
    and the badge id as its credential id. A plain link: no LinkedIn script runs on the page."""
    params = [("startTask", "CERTIFICATION_NAME"), ("name", name), ("organizationName", organization)]
    if issued is not None:
        params += [("issueYear", str(issued.year)), ("issueMonth", str(issued.month))]
    if expires is not None:
        params += [("expirationYear", str(expires.year)), ("expirationMonth", str(expires.month))]
    params += [("certUrl", page_url), ("certId", cert_id)]
    return f"{LINKEDIN_ADD}?{urlencode(params, quote_via=quote)}"


def embed_snippet(*, page_url: str, image_url: str | None, name: str, issuer: str) -> str:
    """HTML for a portfolio: the badge image linking to this page (escaped here, as it is HTML;
    the template escapes it again to show it as text)."""
    label = f"{name} — issued by {issuer}"
    inner = (
        f'<img src="{escape(image_url)}" alt="{escape(label)}" width="120" height="120">'
        if image_url
        else escape(label)
    )
    return f'<a href="{escape(page_url)}" title="{escape(label)}">{inner}</a>'


# Bounded spans: an unclosed marker in a 20,000-character line must not cost quadratic time.
_STRONG = re.compile(r"\*\*(?=\S)(.{1,100}?)(?<=\S)\*\*")
_EMPHASIS = re.compile(r"(?<![\w*])[*_](?=\S)(.{1,100}?)(?<=\S)[*_](?![\w*])")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def _inline(text: str) -> str:
    # Escaped first: the patterns then only ever wrap text that can no longer be markup.
    escaped = str(escape(text, quote=True))
    return _EMPHASIS.sub(r"<em>\1</em>", _STRONG.sub(r"<strong>\1</strong>", escaped))


def markdown_lite(text: str | None) -> Markup | None:
    """Criteria narratives are Markdown (OB 3.0): paragraphs, bullet lists, bold and italics are
    shown as such; everything else (links, images, HTML) stays literal text."""
    if text is None:
        return None
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line for line in block.splitlines() if line.strip()]
        if lines and all(_ITEM.match(line) for line in lines):
            items = "".join(f"<li>{_inline(_ITEM.sub('', line, count=1))}</li>" for line in lines)
            blocks.append(f'<ul class="plain">{items}</ul>')
        else:
            blocks.append("<p>" + "<br>".join(_inline(line.strip()) for line in lines) + "</p>")
    return Markup("".join(blocks))  # noqa: S704 — built from escaped text only


def _alignments(achievement: dict[str, Any]) -> list[Alignment]:
    found = []
    for item in achievement.get("alignment") or []:
        if isinstance(item, dict) and _text(item.get("targetName")):
            found.append(
                Alignment(
                    name=str(_text(item.get("targetName"))),
                    url=safe_url(item.get("targetUrl")),
                    framework=_text(item.get("targetFramework")),
                    code=_text(item.get("targetCode")),
                )
            )
    return found


def _results(achievement: dict[str, Any], subject: dict[str, Any]) -> list[Result]:
    """Each result by the names the achievement's rubric gives its criterion and level."""
    names: dict[str, str] = {}
    for description in achievement.get("resultDescription") or []:
        if not isinstance(description, dict):
            continue
        names[str(description.get("id"))] = str(description.get("name", ""))
        for level in description.get("rubricCriterionLevel") or []:
            if isinstance(level, dict):
                names[str(level.get("id"))] = str(level.get("name", ""))
    results = []
    for result in subject.get("result") or []:
        if isinstance(result, dict):
            criterion, level = str(result.get("resultDescription")), str(result.get("achievedLevel"))
            results.append(Result(criterion=names.get(criterion, criterion), level=names.get(level, level)))
    return results


def _evidence(credential: dict[str, Any]) -> list[EvidenceLink]:
    links = []
    for item in credential.get("evidence") or []:
        if not isinstance(item, dict):
            continue
        url = safe_url(item.get("id"))
        name = _text(item.get("name")) or (url if url else _text(item.get("narrative")))
        if name:
            links.append(EvidenceLink(name=name, url=url, description=_text(item.get("description"))))
    return links


def _downloads(urls: docs.Urls, badge: Badge, slug: str) -> tuple[list[Download], list[Download]]:
    main = [
        Download("Baked PNG", urls.baked(badge.id, "png"), f"{slug}.png", "the image with the credential inside"),
        Download("Baked SVG", urls.baked(badge.id, "svg"), f"{slug}.svg", "the same, as a vector image"),
        # ?format=json: a browser following the credential's own URL would get this page.
        Download("JSON", f"{urls.credential(badge.id)}?format=json", f"{slug}.json", "Open Badges 3.0 (JSON-LD)"),
        Download("JWT", urls.credential_jwt(badge.id), f"{slug}.jwt", "the same credential as a VC-JWT"),
    ]
    more = []
    if badge.ob2_assertion is not None:
        assertion = urls.ob2_assertion(badge.id)
        more = [
            Download("Open Badges 2.0 baked PNG", urls.ob2_baked(badge.id, "png"), f"{slug}-ob2.png", "2.0 backpacks"),
            Download("Open Badges 2.0 assertion", assertion, f"{slug}-ob2.json", "hosted assertion (JSON-LD)"),
        ]
    return main, more


def _slug(name: str) -> str:
    words = "".join(c.lower() if c.isascii() and c.isalnum() else " " for c in name).split()
    return "-".join(words)[:60] or "badge"


def build(*, urls: docs.Urls, badge: Badge, report: VerifyReport, now: dt.datetime) -> BadgePageView:
    credential = badge.credential
    subject = credential.get("credentialSubject") or {}
    achievement = subject.get("achievement") or {}
    issuer = credential.get("issuer") or {}
    name = _text(achievement.get("name")) or _text(credential.get("name")) or "Badge"
    issuer_name = _text(issuer.get("name")) or "Unknown issuer"
    description = _text(achievement.get("description")) or ""
    image = achievement.get("image")
    image_url = safe_url(image.get("id") if isinstance(image, dict) else image)
    criteria = achievement.get("criteria") or {}
    valid_from = _moment(credential.get("validFrom"))
    issued_at = _moment(credential.get("awardedDate")) or valid_from
    expires_at = _moment(credential.get("validUntil"))
    page_url = urls.page(badge.id)
    recipient = badge.recipient_name if badge.show_name and badge.recipient_name else None
    status = status_of(report, starts_later=valid_from is not None and valid_from > now)
    shareable = badge.status == "active" and status.key in SHAREABLE
    downloads, more = _downloads(urls, badge, _slug(name)) if shareable else ([], [])
    share_title = f"{recipient} earned {name}" if recipient else name
    summary = description if len(description) <= 200 else description[:197].rstrip() + "…"
    return BadgePageView(
        badge_id=badge.id,
        name=name,
        description=description,
        image_url=image_url,
        image_alt=f"Badge image: {name}",
        preview_image_url=urls.baked(badge.id, "png"),
        issuer_name=issuer_name,
        issuer_url=safe_url(issuer.get("url")),
        recipient_name=recipient,
        criteria_narrative=markdown_lite(_text(criteria.get("narrative"))),
        criteria_url=safe_url(criteria.get("id")),
        alignments=_alignments(achievement),
        results=_results(achievement, subject) if badge.show_results else None,
        evidence=_evidence(credential) if badge.show_evidence else None,
        issued=_shown(issued_at),
        expires=_shown(expires_at),
        expired=expires_at is not None and expires_at <= now,
        status=status,
        checks=[Check(c.name, c.passed, c.message, warning=c.severity == "warning") for c in report.checks],
        page_url=page_url,
        credential_url=urls.credential(badge.id),
        downloads=downloads,
        more_formats=more,
        linkedin_url=linkedin_url(
            name=name,
            organization=issuer_name,
            issued=issued_at,
            expires=expires_at,
            page_url=page_url,
            cert_id=badge.id,
        )
        if shareable
        else None,
        embed_snippet=embed_snippet(page_url=page_url, image_url=image_url, name=name, issuer=issuer_name)
        if shareable
        else None,
        meta_description=f"Issued by {issuer_name}. {summary}".strip(),
        share_title=share_title,
        replaces_url=urls.page(badge.replaces_id) if badge.replaces_id else None,
        replaced_by_url=urls.page(badge.replaced_by_id) if badge.replaced_by_id else None,
        reissue_kind=badge.reissue_kind,
        sharing_withheld=None if shareable else _WITHHELD.get(badge.status) or _WITHHELD[status.key],
    )
