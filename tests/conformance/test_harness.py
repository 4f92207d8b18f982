"""The harness itself: the in-memory fixes of the Postman collection and Runscope's semantics."""

import json
import random
import re

import pytest

from tests.conformance.deviations import POSTMAN_DEVIATIONS, SCIM2_TESTER_DEVIATIONS
from tests.conformance.okta_runner import (
    MISSING,
    SPEC_FILE,
    evaluate,
    json_property,
    load_spec,
    okta_variables,
    substitute,
)
from tests.conformance.postman import COLLECTION_FILE, HARNESS_CHECKS, _walk, prepare_collection

pytestmark = pytest.mark.conformance


def test_prepared_collection_fixes_only_the_documented_defects(conformance_dir, tmp_path):
    source = conformance_dir / COLLECTION_FILE
    original = dict(_walk(json.loads(source.read_text(encoding="utf-8"))["item"]))
    collection = prepare_collection(source, tmp_path / "collection.json")
    assert json.loads((tmp_path / "collection.json").read_text()) == collection
    prepared = dict(_walk(collection["item"]))

    assert "Get Token / Get Token" in original
    assert set(original) - set(prepared) == {"Get Token / Get Token"}
    text = json.dumps(collection)
    assert "${__UUID}" not in text
    assert "serviceConfiguration" not in text
    assert text.count("{{$guid}}") == 10
    spc = prepared["Endpoint tests / Get ServiceProviderConfig"]["request"]["url"]
    assert spc["path"] == ["{{Api}}", "ServiceProviderConfig"]
    users = prepared["Endpoint tests / Get empty Users"]["request"]["url"]
    assert users["path"] == ["{{Api}}", "Users"]
    filtered = prepared["User tests / Get User Filters"]["request"]["url"]
    assert filtered["path"] == ["{{Api}}", "Users", ""]
    # Every harness check lands on an existing request.
    assert set(HARNESS_CHECKS) <= set(prepared)


def test_okta_variables_follow_okta_initial_script():
    variables = okta_variables(
        base_url="http://x/scim",
        authorization="Bearer k",
        rng=random.Random(1),  # noqa: S311 (test data)
    )
    assert re.fullmatch(r"Runscope\d{3}", variables["randomGivenName"])
    assert re.fullmatch(r"[A-Z][a-z]{8}\d{3}", variables["randomFamilyName"])
    expected_email = f"{variables['randomGivenName']}{variables['randomFamilyName']}@atko.com"
    assert variables["randomEmail"] == variables["randomUsername"] == expected_email
    assert variables["randomUsernameCaps"] == expected_email.upper()


def test_every_variable_of_the_okta_suite_is_set_by_the_script_or_a_step(conformance_dir):
    spec = load_spec(conformance_dir / SPEC_FILE)
    known = set(okta_variables(base_url="", authorization="", rng=random.Random(0)))  # noqa: S311
    known |= {v["name"] for step in spec["steps"] for v in step.get("variables", [])}
    sent = [{k: v for k, v in step.items() if k != "note"} for step in spec["steps"]]
    used = set(re.findall(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}", json.dumps(sent)))
    assert used <= known


def test_runscope_comparisons():
    document = {"Resources": [{"name": {"familyName": "F"}, "active": False, "emails": []}]}
    assert json_property(document, "Resources[0].name.familyName") == "F"
    assert json_property(document, "Resources[0].emails[0].value") is MISSING
    assert json_property(document, "Resources[1]") is MISSING
    assert evaluate("equal", True, "true")
    assert evaluate("equal", 0, "0")
    assert not evaluate("equal", "0 ", "0")
    assert evaluate("equal_number", 404, "404")
    assert evaluate("equal_number", "404", "404")
    assert not evaluate("equal_number", None, "404")
    assert evaluate("not_empty", False, None)
    assert not evaluate("not_empty", "", None)
    assert not evaluate("not_empty", MISSING, None)
    assert evaluate("is_a_number", 1, None)
    assert not evaluate("is_a_number", "1", None)
    assert not evaluate("is_a_number", True, None)
    assert evaluate("has_value", ["a", "b"], "b")
    assert not evaluate("has_value", "ab", "b")
    assert evaluate("contains", ["urn:x:User"], "urn:x:User")
    assert evaluate("is_less_than", 599, "600")
    assert not evaluate("is_less_than", 600, "600")
    assert substitute("{{a}}/{{ b }}", {"a": "1", "b": "2"}) == "1/2"
    with pytest.raises(KeyError):
        substitute("{{missing}}", {})


def _deviation(request: str, assertion: str):
    return next(d for d in POSTMAN_DEVIATIONS if d.key == (request, assertion))


def test_a_deviation_is_tolerated_only_with_the_documented_status_and_scim_type():
    unquoted = _deviation("User tests with garbage / filter starts with", "Total results")
    error = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400"}
    invalid_filter = json.dumps({**error, "scimType": "invalidFilter"})
    assert unquoted.mismatch(status=400, body=invalid_filter) is None
    assert unquoted.mismatch(status=500, body="") == (
        "QA answered 500, documented 400 `invalidFilter`"
    )
    assert unquoted.mismatch(status=400, body=json.dumps({**error, "scimType": "invalidValue"}))
    assert unquoted.mismatch(status=400, body=json.dumps(error))  # no scimType at all
    assert unquoted.mismatch(status=400, body="<html>") is not None

    patch = _deviation(
        "User tests with garbage / Patch user omalley new username", "Status code is 204"
    )
    assert patch.mismatch(status=200, body='{"id": "1"}') is None
    assert patch.mismatch(status=400, body=invalid_filter) is not None


def test_every_postman_deviation_documents_its_answer():
    for deviation in POSTMAN_DEVIATIONS:
        assert deviation.qa_status in (200, 400), deviation.key
        assert (deviation.qa_status == 400) == bool(deviation.qa_scim_type), deviation.key
        assert deviation.qa_scim_type in deviation.qa_answers, deviation.key
    for deviation in SCIM2_TESTER_DEVIATIONS:
        assert deviation.checked_by_predicate, deviation.key
