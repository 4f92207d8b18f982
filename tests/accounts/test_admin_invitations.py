"""Admins invite admins: a single-use emailed link, stored as a digest, valid 72 hours,
re-sendable (the old link dies), revocable, audited, and never across companies."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from qaportal.accounts.emails import admin_invitation_email_send
from qaportal.accounts.exceptions import (
    AdminAlreadyInCompany,
    AdminEmailTaken,
    InvitationNotOpen,
    InvitationNotUsable,
)
from qaportal.accounts.models import AccountAuditEvent, AdminInvitation, User
from qaportal.accounts.services.admins import (
    admin_invitation_accept,
    admin_invitation_link_issue,
    admin_invitation_resend,
    admin_invitation_revoke,
    admin_invite,
    admin_remove,
)
from tests.conftest import ADMIN_PASSWORD
from tests.factories import CompanyAdminFactory, LearnerFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a long and unusual passphrase 42"


def issue_link(invitation: AdminInvitation) -> str:
    """What the worker does before emailing: the link's secret, once."""
    invitation.refresh_from_db()
    issued = admin_invitation_link_issue(
        invitation_id=invitation.pk, send_count=invitation.send_count
    )
    assert issued is not None
    return issued.token


def accept_url(invitation: AdminInvitation, token: str) -> str:
    return reverse(
        "accounts:invitation_accept",
        kwargs={"public_id": invitation.public_id, "token": token},
    )


@pytest.fixture
def invitation(company, admin_user):
    return admin_invite(company=company, email="New.Admin@Contoso.com", invited_by=admin_user)


def test_an_invitation_is_stored_lower_cased_with_no_link_until_the_worker_issues_it(
    invitation, admin_user
):
    assert invitation.email == "new.admin@contoso.com"
    assert invitation.token_hash == ""
    assert invitation.expires_at - invitation.created_at == timedelta(hours=72)
    token = issue_link(invitation)
    invitation.refresh_from_db()
    # Only the digest is kept, never the secret.
    assert token not in invitation.token_hash
    assert len(invitation.token_hash) == 64
    assert AdminInvitation.objects.filter(token_hash__contains=token).count() == 0
    event = AccountAuditEvent.objects.get(action=AccountAuditEvent.Action.ADMIN_INVITED)
    assert (event.actor, event.subject_email) == (admin_user, "new.admin@contoso.com")


def test_the_invitation_email_carries_a_link_that_works(invitation, client, company):
    assert admin_invitation_email_send(invitation_id=invitation.pk, send_count=1)
    # A second run of the same task sends nothing.
    assert not admin_invitation_email_send(invitation_id=invitation.pk, send_count=1)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.admin@contoso.com"]
    assert "Contoso" in message.subject
    path = next(
        line.strip().removeprefix("http://localhost:8000")
        for line in message.body.splitlines()
        if "/invitations/" in line
    )
    page = client.get(path, follow=True)
    assert page.status_code == 200
    assert "Become an admin of Contoso" in page.content.decode()


def test_accepting_creates_the_admin_signs_them_in_and_lands_on_the_dashboard(
    invitation, client, company, admin_user
):
    token = issue_link(invitation)
    response = client.post(
        accept_url(invitation, token),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        REMOTE_ADDR="203.0.113.5",
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:dashboard")
    new_admin = User.objects.get(email="new.admin@contoso.com")
    assert new_admin.is_company_admin and new_admin.company == company
    assert new_admin.check_password(NEW_PASSWORD)
    assert client.session[SESSION_KEY] == str(new_admin.pk)
    assert client.get(reverse("accounts:dashboard")).status_code == 200
    event = AccountAuditEvent.objects.get(action=AccountAuditEvent.Action.INVITATION_ACCEPTED)
    assert (event.actor, event.ip_address) == (new_admin, "203.0.113.5")
    assert event.detail == {"invited_by": admin_user.email}


def test_a_weak_password_gets_field_errors_and_creates_nothing(invitation, client):
    token = issue_link(invitation)
    response = client.post(
        accept_url(invitation, token), {"new_password1": "12345678", "new_password2": "12345678"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "This password is too common." in html
    assert "This password is entirely numeric." in html
    response = client.post(
        accept_url(invitation, token),
        {"new_password1": NEW_PASSWORD, "new_password2": "something else entirely"},
    )
    assert "The two password fields" in response.content.decode()
    assert not User.objects.filter(email="new.admin@contoso.com").exists()


def test_a_link_works_once(invitation, client):
    token = issue_link(invitation)
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert client.post(accept_url(invitation, token), data).status_code == 302
    client.logout()
    again = client.get(accept_url(invitation, token), follow=True)
    assert again.status_code == 404
    assert "This invitation link is not valid" in again.content.decode()
    with pytest.raises(InvitationNotUsable):
        admin_invitation_accept(invitation=invitation, token=token, password=NEW_PASSWORD)


def test_a_link_expires_after_72_hours(invitation, client):
    token = issue_link(invitation)
    with time_machine.travel(invitation.expires_at - timedelta(seconds=1), tick=False):
        assert client.get(accept_url(invitation, token), follow=True).status_code == 200
    with time_machine.travel(invitation.expires_at, tick=False):
        response = client.get(accept_url(invitation, token), follow=True)
        assert response.status_code == 410
        assert "This invitation has expired" in response.content.decode()
        response = client.post(
            accept_url(invitation, token),
            {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
        assert response.status_code == 410
    assert not User.objects.filter(email="new.admin@contoso.com").exists()


def test_a_re_send_kills_the_old_link_and_starts_a_new_72_hours(invitation, admin_user, client):
    old_token = issue_link(invitation)
    later = timezone.now() + timedelta(hours=70)
    with time_machine.travel(later, tick=False):
        admin_invitation_resend(invitation=invitation, resent_by=admin_user)
        assert client.get(accept_url(invitation, old_token), follow=True).status_code == 404
        new_token = issue_link(invitation)
        invitation.refresh_from_db()
        assert invitation.expires_at == later + timedelta(hours=72)
    with time_machine.travel(later + timedelta(hours=71), tick=False):
        assert client.get(accept_url(invitation, old_token), follow=True).status_code == 404
        assert client.get(accept_url(invitation, new_token), follow=True).status_code == 200
    assert AccountAuditEvent.objects.filter(action="invitation_resent").count() == 1


def test_inviting_the_same_address_again_re_sends_the_open_invitation(
    invitation, company, admin_user
):
    again = admin_invite(company=company, email="new.admin@contoso.com", invited_by=admin_user)
    assert again.pk == invitation.pk
    assert again.send_count == 2
    assert AdminInvitation.objects.count() == 1


def test_a_stale_send_never_issues_a_link(invitation, admin_user):
    admin_invitation_resend(invitation=invitation, resent_by=admin_user)
    # The task of the first send runs late: it must not revive the first link.
    assert admin_invitation_link_issue(invitation_id=invitation.pk, send_count=1) is None
    assert admin_invitation_link_issue(invitation_id=invitation.pk, send_count=2) is not None


def test_a_revoked_invitation_cannot_be_used_or_re_sent(invitation, admin_user, client):
    token = issue_link(invitation)
    admin_invitation_revoke(invitation=invitation, revoked_by=admin_user)
    assert client.get(accept_url(invitation, token), follow=True).status_code == 404
    with pytest.raises(InvitationNotOpen):
        admin_invitation_resend(invitation=invitation, resent_by=admin_user)
    assert AccountAuditEvent.objects.filter(action="invitation_revoked").count() == 1


def test_an_address_that_is_already_an_admin_here_is_refused(company, admin_user):
    with pytest.raises(AdminAlreadyInCompany):
        admin_invite(company=company, email="ADMIN@contoso.com", invited_by=admin_user)


def test_an_address_that_is_another_companys_admin_is_refused_without_naming_it(
    admin_client, other_admin_user
):
    response = admin_client.post(
        reverse("integrations:admin_invite"), {"email": other_admin_user.email}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "already has a QA Portal admin account" in html
    assert "Fabrikam" not in html
    assert not AdminInvitation.objects.exists()


def test_a_staff_address_is_refused_the_same_way(company, admin_user, django_user_model):
    django_user_model.objects.create_superuser(email="ops@qa.example", password="x")
    with pytest.raises(AdminEmailTaken):
        admin_invite(company=company, email="ops@qa.example", invited_by=admin_user)


def test_a_learners_address_becomes_a_separate_admin_account(company, admin_user, client):
    learner = LearnerFactory(
        company=company, user_name="lee@contoso.com", work_email="lee@contoso.com"
    )
    invitation = admin_invite(company=company, email="lee@contoso.com", invited_by=admin_user)
    token = issue_link(invitation)
    client.post(
        accept_url(invitation, token),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    admin = User.objects.get(email="lee@contoso.com")
    assert admin.pk != learner.pk
    assert admin.role == User.Role.ADMIN
    learner.refresh_from_db()
    assert (learner.role, learner.email, learner.user_name) == (
        User.Role.LEARNER,
        None,
        "lee@contoso.com",
    )


def test_a_removed_admin_can_be_invited_back_with_a_new_password(company, admin_user, client):
    colleague = CompanyAdminFactory(company=company, email="colleague@contoso.com")
    admin_remove(company=company, admin_id=colleague.pk, removed_by=admin_user)
    invitation = admin_invite(company=company, email=colleague.email, invited_by=admin_user)
    token = issue_link(invitation)
    client.post(
        accept_url(invitation, token),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    colleague.refresh_from_db()
    assert colleague.is_active
    assert colleague.check_password(NEW_PASSWORD)
    assert not colleague.check_password(ADMIN_PASSWORD)


def test_the_address_taken_meanwhile_refuses_the_acceptance(invitation, client, other_company):
    token = issue_link(invitation)
    CompanyAdminFactory(company=other_company, email="new.admin@contoso.com")
    response = client.post(
        accept_url(invitation, token),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 404
    assert "already has an admin account" in response.content.decode()
    assert "Fabrikam" not in response.content.decode()


def test_a_malformed_or_unknown_link_is_a_clear_404(client, invitation):
    for path in (
        f"/invitations/{invitation.public_id}/not-the-token/",
        "/invitations/00000000-0000-0000-0000-000000000000/x/",
    ):
        response = client.get(path)
        assert response.status_code == 404
        assert "This invitation link is not valid" in response.content.decode()


# --- The Admins tab ---------------------------------------------------------------------------


def test_the_admins_tab_lists_admins_and_open_invitations(admin_client, invitation):
    html = admin_client.get(reverse("integrations:admin_list")).content.decode()
    assert "admin@contoso.com" in html
    assert "new.admin@contoso.com" in html
    assert "Sending" in html  # the worker has not issued the link yet
    issue_link(invitation)
    html = admin_client.get(reverse("integrations:admin_list")).content.decode()
    assert "Pending" in html


def test_inviting_from_the_page_sends_and_says_so(admin_client):
    response = admin_client.post(
        reverse("integrations:admin_invite"), {"email": "third@contoso.com"}, follow=True
    )
    assert "Invitation sent to third@contoso.com" in response.content.decode()
    assert AdminInvitation.objects.get().email == "third@contoso.com"


def test_an_invalid_address_gets_a_field_error(admin_client):
    response = admin_client.post(reverse("integrations:admin_invite"), {"email": "nope"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()


def test_re_send_and_revoke_buttons(admin_client, invitation):
    admin_client.post(
        reverse("integrations:admin_invitation_resend", kwargs={"invitation_id": invitation.pk})
    )
    invitation.refresh_from_db()
    assert invitation.send_count == 2
    admin_client.post(
        reverse("integrations:admin_invitation_revoke", kwargs={"invitation_id": invitation.pk})
    )
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_another_companys_invitations_are_invisible_and_untouchable(
    client, invitation, other_admin_user
):
    client.force_login(other_admin_user)
    html = client.get(reverse("integrations:admin_list")).content.decode()
    assert "new.admin@contoso.com" not in html
    for name in ("integrations:admin_invitation_resend", "integrations:admin_invitation_revoke"):
        response = client.post(reverse(name, kwargs={"invitation_id": invitation.pk}))
        assert response.status_code == 404
    invitation.refresh_from_db()
    assert (invitation.send_count, invitation.revoked_at) == (1, None)


def test_inviting_needs_a_recent_sign_in(admin_client, settings):
    later = timezone.now() + settings.QA_REAUTH_MAX_AGE + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        response = admin_client.post(
            reverse("integrations:admin_invite"), {"email": "late@contoso.com"}
        )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:password_confirm"))
    assert not AdminInvitation.objects.exists()


def test_learners_cannot_open_the_admins_tab(client, company):
    client.force_login(LearnerFactory(company=company))
    assert client.get(reverse("integrations:admin_list")).status_code == 403


def test_invitations_and_acceptances_are_in_the_audit_trail(
    admin_client, invitation, admin_user, client
):
    token = issue_link(invitation)
    client.post(
        accept_url(invitation, token),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    html = admin_client.get(
        reverse("integrations:audit_trail", kwargs={"provider": "entra-id"})
    ).content.decode()
    assert "Invited an admin" in html
    assert "Accepted an admin invitation" in html
    assert "new.admin@contoso.com" in html


def test_the_links_secret_moves_from_the_address_to_the_session(invitation, client):
    token = issue_link(invitation)
    response = client.get(accept_url(invitation, token))
    assert response.status_code == 302
    assert response["Location"] == accept_url(invitation, "accept")
    assert token not in response["Location"]
    response = client.post(
        response["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert User.objects.filter(email="new.admin@contoso.com").exists()


def test_the_accept_word_alone_is_no_link(invitation, client):
    issue_link(invitation)
    response = client.get(accept_url(invitation, "accept"))
    assert response.status_code == 404
