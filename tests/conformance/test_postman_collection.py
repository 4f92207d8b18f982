"""Microsoft's SCIM reference Postman collection, run by newman against the live endpoint."""

import json
from urllib.parse import urlsplit

import pytest

from tests.conformance.conftest import REPO_ROOT
from tests.conformance.deviations import POSTMAN_DEVIATIONS, deviations_markdown
from tests.conformance.postman import (
    COLLECTION_FILE,
    INSTALL_HINT,
    NEWMAN,
    prepare_collection,
    read_report,
    run_newman,
    write_environment,
)

pytestmark = pytest.mark.conformance

SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_MEDIA_TYPE = "application/scim+json"


def _is_scim_error(body: str) -> bool:
    try:
        return SCIM_ERROR in json.loads(body).get("schemas", [])
    except (ValueError, AttributeError):
        return False


@pytest.mark.django_db(transaction=True)
def test_microsoft_reference_postman_collection_passes(scim_server, conformance_dir, tmp_path):
    if not NEWMAN.exists():
        pytest.fail(
            f"newman is not installed ({NEWMAN} is missing). Install the Node tools of the test"
            f" suite at the repository root first: {INSTALL_HINT}",
            pytrace=False,
        )
    origin = urlsplit(scim_server.origin)
    collection = prepare_collection(conformance_dir / COLLECTION_FILE, tmp_path / "collection.json")
    write_environment(
        tmp_path / "environment.json",
        protocol=origin.scheme,
        server=origin.hostname,
        port=f":{origin.port}",
        api=scim_server.base_path,
        token=scim_server.token,
    )
    output = run_newman(
        tmp_path / "collection.json", tmp_path / "environment.json", tmp_path / "report.json"
    )
    executions = read_report(tmp_path / "report.json", collection)
    assert len(executions) == 78, output  # 79 requests less the reference server's /Token

    allowed = {d.key: d for d in POSTMAN_DEVIATIONS}
    failed_blocks, failed_count, tolerated = [], 0, []
    for execution in executions:
        failed = []
        # Checks of every answer, whatever the collection asserts (no 5xx, every
        # error is a SCIM error body, responses are application/scim+json).
        if execution.status is None or execution.status >= 500:
            failed.append("QA: no server error")
        elif execution.status >= 400 and not _is_scim_error(execution.response_body):
            failed.append("QA: an error answer is a SCIM Error body")
        if execution.response_body and not execution.content_type.startswith(SCIM_MEDIA_TYPE):
            failed.append(f"QA: the answer is {SCIM_MEDIA_TYPE} (got {execution.content_type!r})")
        for assertion in execution.assertions:
            if assertion.passed:
                continue
            deviation = allowed.get((execution.request, assertion.name))
            mismatch = (
                deviation.mismatch(status=execution.status, body=execution.response_body)
                if deviation is not None
                else "not a documented deviation"
            )
            if mismatch is None:
                tolerated.append((execution.request, assertion.name))
            elif deviation is None:
                failed.append(f"{assertion.name}: {assertion.error}")
            else:
                # Listed, but QA did not answer as documented: a regression, not the quirk.
                failed.append(f"{assertion.name}: {assertion.error} (documented, but {mismatch})")
        if failed:
            failed_count += len(failed)
            failed_blocks.append(
                f"[{execution.request}] {execution.describe()}\n"
                + "\n".join(f"  FAILED {line}" for line in failed)
            )

    stale = {d.key for d in POSTMAN_DEVIATIONS} - set(tolerated)
    if stale:
        failed_count += len(stale)
        failed_blocks.append(
            "Documented deviations that now pass: remove them from deviations.py and regenerate"
            " DEVIATIONS.md:\n" + "\n".join(f"  {r} :: {a}" for r, a in sorted(stale))
        )
    total = sum(len(e.assertions) for e in executions)
    assert not failed_blocks, (
        f"{failed_count} failed checks in {len(failed_blocks)} of {len(executions)} requests"
        f" ({total} assertions in all, {len(tolerated)} documented deviations tolerated):\n\n"
        + "\n\n".join(failed_blocks)
    )


def test_deviations_markdown_is_generated_from_the_allow_list():
    path = REPO_ROOT / "tests" / "conformance" / "DEVIATIONS.md"
    assert path.read_text(encoding="utf-8") == deviations_markdown(), (
        "Regenerate it: python -m tests.conformance.deviations > tests/conformance/DEVIATIONS.md"
    )
