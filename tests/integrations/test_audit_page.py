"""The audit trail page: who did what to which key, when and from where."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import ApiKey, AuditEvent
from integrations.services import api_key_expire, api_key_generate, api_key_revoke
from tests.factories import CompanyAdminFactory, LearnerFactory
from tests.pages import text_of

pytestmark = pytest.mark.django_db

AUDIT_URL = reverse("integrations:audit_trail", kwargs={"provider": "entra-id"})
DETAIL_URL = reverse("integrations:integration_detail", kwargs={"provider": "entra-id"})


def rows_of(page: str) -> list[str]:
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in body.split("</tr>")[:-1]]


def test_the_trail_lists_generate_rotate_revoke_and_expire_newest_first(
    admin_client, company, entra_integration, admin_user
):
    t0 = timezone.now() - timedelta(days=1)
    colleague = CompanyAdminFactory(company=company, email="ops@contoso.com")
    first = api_key_generate(
        integration=entra_integration, created_by=admin_user, ip_address="203.0.113.7", now=t0
    )
    second = api_key_generate(
        integration=entra_integration,
        created_by=colleague,
        ip_address="2001:db8::1",
        now=t0 + timedelta(minutes=5),
    )
    deadline = ApiKey.objects.get(pk=first.api_key.pk).expires_at
    assert api_key_expire(api_key_id=first.api_key.pk, now=deadline)
    api_key_revoke(
        api_key=second.api_key,
        revoked_by=admin_user,
        ip_address="198.51.100.2",
        now=deadline + timedelta(minutes=1),
    )

    page = text_of(admin_client.get(AUDIT_URL))
    rows = rows_of(page)
    assert len(rows) == 4
    revoked, expired, rotated, generated = rows
    assert "admin@contoso.com Revoked API key" in revoked
    assert f"{second.api_key.prefix} 198.51.100.2" in revoked
    assert "QA Portal (grace period ended) API key expired" in expired
    assert f"{first.api_key.prefix} Automatic" in expired
    assert "ops@contoso.com Generated API key" in rotated
    assert f"Started the grace period of {first.api_key.prefix}" in rotated
    assert "2001:db8::1" in rotated
    assert "admin@contoso.com Generated API key" in generated
    assert "203.0.113.7" in generated
    assert generated.startswith(t0.strftime("%-d %b %Y, %H:%M:"))


def test_the_trail_shows_key_prefixes_only(admin_client, generated_key):
    page = text_of(admin_client.get(AUDIT_URL))
    assert f'<code class="mono">{generated_key.api_key.prefix}</code>' in page
    assert generated_key.api_key.masked not in page
    assert generated_key.api_key.last4 not in page.split("<tbody>")[1].split("</tbody>")[0]
    assert generated_key.plaintext not in page


def test_the_trail_is_read_only(admin_client, generated_key):
    for method in ("post", "put", "patch", "delete"):
        response = getattr(admin_client, method)(AUDIT_URL)
        assert response.status_code == 405
    assert AuditEvent.objects.count() == 1
    assert "<form" not in text_of(admin_client.get(AUDIT_URL)).split('class="tab-panel"')[1]


def test_the_trail_is_paginated(admin_client, company, entra_integration, admin_user):
    t0 = timezone.now() - timedelta(hours=2)
    for i in range(55):
        api_key_generate(
            integration=entra_integration, created_by=admin_user, now=t0 + timedelta(seconds=i)
        )
    first = text_of(admin_client.get(AUDIT_URL))
    assert len(rows_of(first)) == 50
    assert "Page 1 of 2" in first
    second = text_of(admin_client.get(f"{AUDIT_URL}?page=2"))
    assert len(rows_of(second)) == 5


def test_another_companys_trail_never_appears(
    admin_client, generated_key, other_generated_key, other_admin_user
):
    page = text_of(admin_client.get(AUDIT_URL))
    assert len(rows_of(page)) == 1
    assert other_generated_key.api_key.prefix not in page
    assert other_admin_user.email not in page


def test_an_empty_trail_says_what_it_will_hold(admin_client, company):
    page = text_of(admin_client.get(AUDIT_URL))
    assert (
        "Nothing yet. Generating or revoking an API key, and inviting or removing an admin, "
        "is recorded here." in page
    )


def test_only_company_admins_see_the_trail(client, company):
    assert client.get(AUDIT_URL).status_code == 302
    client.force_login(LearnerFactory(company=company))
    assert client.get(AUDIT_URL).status_code == 403


def test_the_integration_page_links_to_the_trail(admin_client, company):
    page = text_of(admin_client.get(DETAIL_URL))
    assert f'<a href="{AUDIT_URL}">Audit trail</a>' in page
    trail = text_of(admin_client.get(AUDIT_URL))
    assert f'<a href="{DETAIL_URL}">Microsoft Entra ID</a>' in trail


def test_admin_account_events_interleave_with_key_events_newest_first(
    admin_client, company, entra_integration, admin_user, other_company, other_admin_user
):
    from qaportal.accounts.services.admins import admin_invitation_revoke, admin_invite

    t0 = timezone.now() - timedelta(hours=2)
    api_key_generate(integration=entra_integration, created_by=admin_user, now=t0)
    invitation = admin_invite(
        company=company,
        email="new@contoso.com",
        invited_by=admin_user,
        ip_address="203.0.113.8",
        now=t0 + timedelta(minutes=1),
    )
    admin_invitation_revoke(
        invitation=invitation, revoked_by=admin_user, now=t0 + timedelta(minutes=3)
    )
    api_key_generate(
        integration=entra_integration, created_by=admin_user, now=t0 + timedelta(minutes=2)
    )
    # Another company's admin events never show here.
    admin_invite(company=other_company, email="x@fabrikam.com", invited_by=other_admin_user)

    rows = rows_of(admin_client.get(AUDIT_URL).content.decode())
    assert [row.split(" admin@contoso.com ")[1].split(" ")[0:3] for row in rows] == [
        ["Revoked", "an", "admin"],
        ["Generated", "API", "key"],
        ["Invited", "an", "admin"],
        ["Generated", "API", "key"],
    ]
    assert "new@contoso.com" in rows[2] and "203.0.113.8" in rows[2]
    assert not any("fabrikam" in row for row in rows)
