"""What ``POST /v1/verify`` says: the official OB 3.0 JSON Schema's verdict as the schema gives it
(a suspendable issuer's status array is a warning, never "valid"), and a recipient that does not
match as a failed check of its own."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema

from tests.services.badges.conftest import Badges

SCHEMAS = Path(__file__).resolve().parents[4] / "services" / "badges" / "openbadges" / "reference" / "schemas"
OFFICIAL = json.loads((SCHEMAS / "ob_v3p0_achievementcredential_schema.json").read_text())


def path(url: str) -> str:
    """The path of one of the service's public URLs (the app is reached without the gateway)."""
    return "/ob/" + url.split("/ob/", 1)[1]


def official_paths(credential: dict[str, Any]) -> list[str]:
    """Where the official schema, run here on its own, rejects the document (JSON pointers)."""
    validator = jsonschema.Draft201909Validator(OFFICIAL)
    return sorted("/" + "/".join(str(p) for p in e.absolute_path) for e in validator.iter_errors(credential))


async def verify(badges: Badges, **body: Any) -> dict[str, Any]:
    response = await badges.client.post("/v1/verify", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def check(report: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [c for c in report["checks"] if c["name"] == name]
    return dict(found)


async def badge_of(badges: Badges, *, suspendable: bool) -> dict[str, Any]:
    issuer = await badges.issuer(suspendable=suspendable)
    achievement = await badges.achievement(issuer["id"])
    response = await badges.issue(achievement["id"])
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_the_schema_check_says_what_the_official_schema_says(badges: Badges, backend: str) -> None:
    plain = await badge_of(badges, suspendable=False)
    suspendable = await badge_of(badges, suspendable=True)
    jwt = (await badges.client.get(path(suspendable["links"]["jwt"]))).text

    valid = await verify(badges, credential=plain["credential"])
    array = await verify(badges, credential=suspendable["credential"])
    array_jwt = await verify(badges, credential=jwt)

    assert official_paths(plain["credential"]) == []
    assert check(valid, "schema") == {
        "name": "schema",
        "passed": True,
        "message": f"valid against the OB 3.0 AchievementCredential JSON Schema {OFFICIAL['$id']}",
        "severity": "error",
        "findings": [],
    }
    # The official schema types credentialStatus as one object; two entries are an array.
    assert official_paths(suspendable["credential"]) == ["/credentialStatus"]
    for report in (array, array_jwt):
        schema = check(report, "schema")
        assert (schema["passed"], schema["severity"]) == (False, "warning")
        assert schema["findings"] == [
            {"schema_id": OFFICIAL["$id"], "path": "/credentialStatus", "message": "the array is not of type 'object'"}
        ]
        assert "valid against" not in schema["message"]
        assert "rejects /credentialStatus" in schema["message"]
        assert "2 status entries (revocation, suspension)" in schema["message"]
        assert "ADR 0010" in schema["message"]
        # A warning is reported and does not count: the credential itself verifies.
        assert (report["verified"], report["status"]) == (True, "active"), report
        assert [c["name"] for c in report["checks"] if not c["passed"]] == ["schema"]


async def test_a_schema_error_beyond_the_status_array_is_an_error_naming_each_path(
    badges: Badges, backend: str
) -> None:
    suspendable = await badge_of(badges, suspendable=True)
    plain = await badge_of(badges, suspendable=False)
    broken_entry = copy.deepcopy(suspendable["credential"])
    del broken_entry["credentialStatus"][1]["type"]
    no_valid_from = copy.deepcopy(plain["credential"])
    del no_valid_from["validFrom"]

    entry_report = await verify(badges, credential=broken_entry)
    missing_report = await verify(badges, credential=no_valid_from)

    entry = check(entry_report, "schema")
    assert (entry["passed"], entry["severity"], entry_report["verified"]) == (False, "error", False)
    # The array as the schema refuses it, and the entry that is wrong in the schema's place too.
    assert [(f["path"], f["message"]) for f in entry["findings"]] == [
        ("/credentialStatus", "the array is not of type 'object'"),
        ("/credentialStatus/1", "'type' is a required property"),
    ]
    assert {f["schema_id"] for f in entry["findings"]} == {OFFICIAL["$id"]}
    missing = check(missing_report, "schema")
    assert official_paths(no_valid_from) == ["/"]
    assert missing["findings"] == [
        {"schema_id": OFFICIAL["$id"], "path": "/", "message": "'validFrom' is a required property"}
    ]
    assert (missing["passed"], missing["severity"]) == (False, "error")
    assert missing["message"] == (
        f"the official OB 3.0 AchievementCredential JSON Schema ({OFFICIAL['$id']}) rejects the credential at /: "
        "'validFrom' is a required property"
    )


async def test_a_wrong_recipient_is_a_failed_check_that_says_what_was_compared(badges: Badges, backend: str) -> None:
    issuer = await badges.issuer()
    achievement = await badges.achievement(issuer["id"])
    by_email = (await badges.issue(achievement["id"])).json()
    by_did = (await badges.issue(achievement["id"], recipient={"id": "did:example:ed", "email": "ed@demo.test"})).json()
    credential = by_email["credential"]
    jws = (await badges.client.get(path(by_email["links"]["ob2_jws"]))).text

    right = await verify(badges, credential=credential, recipient="educator@demo.test")
    wrong = await verify(badges, credential=credential, recipient="someone@else.test")
    did_right = await verify(badges, credential=by_did["credential"], recipient="did:example:ed")
    did_wrong = await verify(badges, credential=by_did["credential"], recipient="did:example:other")
    ob2_wrong = await verify(badges, credential=jws, recipient="someone@else.test")
    hosted_wrong = await verify(badges, url=by_email["links"]["ob2_assertion"], recipient="someone@else.test")
    none_given = await verify(badges, credential=credential)
    # The email-only recipient's subject id is a pseudonym: the email still matches through the
    # hashed identifier, in the VC-JWT too; the pseudonym itself matches as the subject's id.
    vc_jwt = (await badges.client.get(path(by_email["links"]["jwt"]))).text
    jwt_right = await verify(badges, credential=vc_jwt, recipient=" Educator@Demo.Test")
    pseudonym = credential["credentialSubject"]["id"]
    by_pseudonym = await verify(badges, credential=vc_jwt, recipient=pseudonym)

    assert (right["verified"], right["recipient_matched"]) == (True, True)
    assert check(right, "recipient") == {
        "name": "recipient",
        "passed": True,
        "message": "the recipient given matches the subject's hashed emailAddress identifier",
        "severity": "error",
        "findings": [],
    }
    assert (wrong["verified"], wrong["recipient_matched"]) == (False, False)
    (failed,) = [c for c in wrong["checks"] if not c["passed"]]
    assert failed["name"] == "recipient"
    assert failed["message"].startswith("the recipient given is not the one the credential names: compared with ")
    assert "a hashed emailAddress identifier" in failed["message"]
    assert f"the subject's id {pseudonym}" in failed["message"]
    assert (jwt_right["format"], jwt_right["verified"], jwt_right["recipient_matched"]) == ("ob3-vc-jwt", True, True)
    assert check(jwt_right, "recipient")["message"] == (
        "the recipient given matches the subject's hashed emailAddress identifier"
    )
    assert check(jwt_right, "jwt claims")["passed"] is True
    assert (by_pseudonym["verified"], check(by_pseudonym, "recipient")["message"]) == (
        True,
        "the recipient given is the credential subject's id",
    )
    assert check(did_right, "recipient")["message"] == "the recipient given is the credential subject's id"
    assert did_right["verified"] is True
    assert check(did_wrong, "recipient") == {
        "name": "recipient",
        "passed": False,
        "message": (
            "the recipient given is not the one the credential names: compared with the subject's id "
            "did:example:ed, a hashed emailAddress identifier"
        ),
        "severity": "error",
        "findings": [],
    }
    for report in (ob2_wrong, hosted_wrong):
        assert (report["verified"], report["recipient_matched"]) == (False, False)
        assert [(c["name"], c["message"]) for c in report["checks"] if not c["passed"]] == [
            ("recipient", "the recipient given is not the one the assertion names: its hashed email identity differs")
        ]
    assert "recipient" not in {c["name"] for c in none_given["checks"]}
    assert none_given["recipient_matched"] is None


async def test_a_suspended_badge_s_ob2_forms_verify_as_suspended_until_reinstated(badges: Badges, backend: str) -> None:
    badge = await badge_of(badges, suspendable=True)
    links = badge["links"]
    jws = (await badges.client.get(path(links["ob2_jws"]))).text
    baked = {kind: (await badges.client.get(path(links[f"ob2_baked_{kind}"]))).content for kind in ("png", "svg")}

    async def every_form() -> dict[str, dict[str, Any]]:
        reports = {
            "hosted": await verify(badges, url=links["ob2_assertion"]),
            "jws": await verify(badges, credential=jws),
            "ob3": await verify(badges, credential=badge["credential"]),
        }
        for kind, image in baked.items():
            upload = await badges.client.post("/v1/verify", files={"file": (f"badge.{kind}", image)})
            assert upload.status_code == 200, upload.text
            reports[kind] = upload.json()
        return reports

    suspend = await badges.client.post(
        f"/v1/badges/{badge['id']}/suspend", json={"reason": "under review"}, headers=badges.as_()
    )
    assert suspend.status_code == 200, suspend.text
    suspended = await every_form()
    reinstate = await badges.client.post(f"/v1/badges/{badge['id']}/reinstate", headers=badges.as_())
    assert reinstate.status_code == 200, reinstate.text
    reinstated = await every_form()

    assert {name: (r["verified"], r["status"]) for name, r in suspended.items()} == dict.fromkeys(
        suspended, (False, "suspended")
    )
    assert {name: (r["verified"], r["status"]) for name, r in reinstated.items()} == dict.fromkeys(
        reinstated, (True, "active")
    )
    # The OB 2.0 forms fail on one check that says suspended (never "revoked"), as OB 3.0's does.
    for name in ("hosted", "jws", "png", "svg"):
        failed = [(c["name"], c["message"]) for c in suspended[name]["checks"] if not c["passed"]]
        assert len(failed) == 1, (name, failed)
        assert failed[0][0] == ("hosted" if name == "hosted" else "status"), (name, failed)
        assert failed[0][1].startswith("the assertion is suspended: a temporary hold"), (name, failed)
        assert "revoked" not in failed[0][1], (name, failed)
