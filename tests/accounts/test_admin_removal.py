"""Admins remove admins: never the last one, never themselves, never another company's; the
removed admin's sessions end at once, and the removal is audited."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from qaportal.accounts.exceptions import AdminNotFound, CannotRemoveYourself, LastAdmin
from qaportal.accounts.models import AccountAuditEvent
from qaportal.accounts.services.admins import admin_remove
from tests.conftest import ADMIN_PASSWORD
from tests.factories import CompanyAdminFactory

pytestmark = pytest.mark.django_db


def remove_url(admin) -> str:
    return reverse("integrations:admin_remove", kwargs={"admin_id": admin.pk})


@pytest.fixture
def colleague(company):
    return CompanyAdminFactory(company=company, email="colleague@contoso.com")


def test_an_admin_removes_another_and_it_is_audited(admin_client, colleague):
    page = admin_client.get(remove_url(colleague))
    assert "Remove colleague@contoso.com?" in page.content.decode()
    response = admin_client.post(remove_url(colleague), REMOTE_ADDR="203.0.113.7", follow=True)
    assert "Removed colleague@contoso.com" in response.content.decode()
    colleague.refresh_from_db()
    assert not colleague.is_active
    event = AccountAuditEvent.objects.get(action=AccountAuditEvent.Action.ADMIN_REMOVED)
    assert (event.subject_email, event.ip_address) == ("colleague@contoso.com", "203.0.113.7")
    trail = admin_client.get(reverse("integrations:audit_trail", kwargs={"provider": "entra-id"}))
    assert "Removed an admin" in trail.content.decode()


def test_the_removed_admins_open_session_ends_at_once(admin_client, colleague):
    theirs = Client()
    response = theirs.post(
        reverse("accounts:login"), {"username": colleague.email, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 302
    assert theirs.get(reverse("integrations:settings")).status_code == 200

    admin_client.post(remove_url(colleague))

    response = theirs.get(reverse("integrations:settings"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert not response.wsgi_request.user.is_authenticated
    assert theirs.get(reverse("api:integration_list")).status_code == 403
    # Nor can they sign in again.
    response = theirs.post(
        reverse("accounts:login"), {"username": colleague.email, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    assert "do not match an active account" in response.content.decode()


def test_the_last_admin_cannot_be_removed(company, admin_user, colleague):
    admin_remove(company=company, admin_id=colleague.pk, removed_by=admin_user)
    other = CompanyAdminFactory(company=company, email="third@contoso.com")
    admin_remove(company=company, admin_id=other.pk, removed_by=admin_user)
    # admin_user is now alone; a removed admin (or anyone) cannot take them out.
    with pytest.raises((LastAdmin, CannotRemoveYourself)):
        admin_remove(company=company, admin_id=admin_user.pk, removed_by=admin_user)
    with pytest.raises(LastAdmin):
        admin_remove(company=company, admin_id=admin_user.pk, removed_by=colleague)
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_the_page_refuses_removing_the_last_admin(admin_client, admin_user):
    page = admin_client.get(remove_url(admin_user))
    assert "You cannot remove yourself" in page.content.decode()
    response = admin_client.post(remove_url(admin_user), follow=True)
    assert "You cannot remove yourself" in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_an_admin_cannot_remove_themselves(company, admin_user, colleague):
    with pytest.raises(CannotRemoveYourself):
        admin_remove(company=company, admin_id=admin_user.pk, removed_by=admin_user)


def test_another_companys_admin_is_not_found(admin_client, company, admin_user, other_admin_user):
    assert admin_client.get(remove_url(other_admin_user)).status_code == 404
    assert admin_client.post(remove_url(other_admin_user)).status_code == 404
    with pytest.raises(AdminNotFound):
        admin_remove(company=company, admin_id=other_admin_user.pk, removed_by=admin_user)
    other_admin_user.refresh_from_db()
    assert other_admin_user.is_active


def test_another_companys_admins_are_not_listed(admin_client, other_admin_user):
    html = admin_client.get(reverse("integrations:admin_list")).content.decode()
    assert other_admin_user.email not in html


def test_removing_needs_a_recent_sign_in(admin_client, colleague, settings):
    later = timezone.now() + settings.QA_REAUTH_MAX_AGE + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        response = admin_client.post(remove_url(colleague))
    assert response["Location"].startswith(reverse("accounts:password_confirm"))
    colleague.refresh_from_db()
    assert colleague.is_active
