"""Settings & Integrations, Admins tab: a company's admins invite, re-invite and remove each
other; and the General tab's "Require two-factor for admins". Split from views.py by
sub-domain.

The writes are accounts services (the accounts app owns admin accounts and their audit rows).
Every object is looked up through a selector filtered on `request.user.company`, so another
company's admin or invitation is a 404 exactly like a missing one.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from qaportal.accounts.exceptions import (
    AdminAlreadyInCompany,
    AdminEmailTaken,
    AdminNotFound,
    CannotRemoveYourself,
    InvitationNotOpen,
    LastAdmin,
)
from qaportal.accounts.mixins import (
    CompanyAdminRequiredMixin,
    RecentSignInRequiredMixin,
    client_ip_address,
)
from qaportal.accounts.models import AdminInvitation
from qaportal.accounts.selectors import (
    active_admin_list,
    admin_invitation_list,
    company_admin_list,
)
from qaportal.accounts.services.admins import (
    admin_invitation_resend,
    admin_invitation_revoke,
    admin_invite,
    admin_remove,
)
from qaportal.accounts.services.two_factor import company_two_factor_requirement_set


class AdminInviteForm(forms.Form):
    email = forms.EmailField(
        label="Email of the new admin",
        max_length=254,
        help_text="They get an email with a link to choose a password.",
        widget=forms.EmailInput(attrs={"autocomplete": "off", "placeholder": "name@contoso.com"}),
    )


class TwoFactorRequirementForm(forms.Form):
    require_two_factor = forms.BooleanField(
        label="Require two-factor for admins",
        required=False,
        help_text="Admins without two-factor authentication must set it up at their next page.",
    )


def _invitation_row_status(invitation: AdminInvitation, now) -> str:
    status = invitation.status_at(now)
    if status == AdminInvitation.Status.PENDING and invitation.sent_at is None:
        return "sending"
    return status


def admins_page_response(
    request: HttpRequest, *, form: AdminInviteForm | None = None, status: int = 200
) -> HttpResponse:
    company = request.user.company
    now = timezone.now()
    admins = list(company_admin_list(company=company))
    invitations = [
        (invitation, _invitation_row_status(invitation, now))
        for invitation in admin_invitation_list(company=company).select_related("invited_by")
    ]
    context = {
        "active_admins": [admin for admin in admins if admin.is_active],
        "removed_admins": [admin for admin in admins if not admin.is_active],
        "invitations": invitations,
        "form": form or AdminInviteForm(),
        "max_age_hours": round(settings.QA_INVITATION_MAX_AGE.total_seconds() / 3600),
        "settings_tab": "admins",
    }
    return render(request, "integrations/settings_admins.html", context, status=status)


class AdminListView(CompanyAdminRequiredMixin, View):
    """Settings, Admins tab: the company's admins (with their two-factor state), open
    invitations, and the invite form."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return admins_page_response(request)


class AdminInviteView(CompanyAdminRequiredMixin, RecentSignInRequiredMixin, View):
    """Invite an admin by email. Needs a recent password (and code): a stolen session must not
    be able to add its owner's replacement."""

    reauth_action = "invite-admin"

    def reauth_next_url(self, request: HttpRequest) -> str:
        return reverse("integrations:admin_list")

    def post(self, request: HttpRequest) -> HttpResponse:
        form = AdminInviteForm(request.POST)
        if form.is_valid():
            try:
                invitation = admin_invite(
                    company=request.user.company,
                    email=form.cleaned_data["email"],
                    invited_by=request.user,
                    ip_address=client_ip_address(request),
                )
            except AdminAlreadyInCompany as error:
                form.add_error("email", f"{error.email} is already an admin of your company.")
            except AdminEmailTaken as error:
                form.add_error(
                    "email",
                    f"{error.email} already has a QA Portal admin account, and an address can "
                    "be the admin of one company only. Invite another address, or ask QA "
                    "support.",
                )
            else:
                messages.success(
                    request,
                    f"Invitation sent to {invitation.email}. The link works once, for "
                    f"{round(settings.QA_INVITATION_MAX_AGE.total_seconds() / 3600)} hours.",
                )
                return redirect("integrations:admin_list")
        return admins_page_response(request, form=form, status=400)


def _open_invitation(request: HttpRequest, invitation_id: int) -> AdminInvitation:
    return get_object_or_404(admin_invitation_list(company=request.user.company), pk=invitation_id)


class AdminInvitationResendView(CompanyAdminRequiredMixin, View):
    """Send a new link for an invitation; the previous link stops working at once."""

    def post(self, request: HttpRequest, invitation_id: int) -> HttpResponse:
        invitation = _open_invitation(request, invitation_id)
        try:
            admin_invitation_resend(
                invitation=invitation,
                resent_by=request.user,
                ip_address=client_ip_address(request),
            )
        except InvitationNotOpen:
            messages.error(request, f"The invitation to {invitation.email} is no longer open.")
        else:
            messages.success(
                request,
                f"A new invitation was sent to {invitation.email}; the previous link no "
                "longer works.",
            )
        return redirect("integrations:admin_list")


class AdminInvitationRevokeView(CompanyAdminRequiredMixin, View):
    """Withdraw an invitation; its link stops working at once."""

    def post(self, request: HttpRequest, invitation_id: int) -> HttpResponse:
        invitation = _open_invitation(request, invitation_id)
        try:
            admin_invitation_revoke(
                invitation=invitation,
                revoked_by=request.user,
                ip_address=client_ip_address(request),
            )
        except InvitationNotOpen:
            messages.error(request, f"The invitation to {invitation.email} is no longer open.")
        else:
            messages.success(request, f"The invitation to {invitation.email} was withdrawn.")
        return redirect("integrations:admin_list")


class AdminRemoveView(CompanyAdminRequiredMixin, RecentSignInRequiredMixin, View):
    """Confirm (GET), then remove (POST) another admin of the company: their account can no
    longer sign in and their open sessions end at their next request. Never the last admin."""

    reauth_action = "remove-admin"

    def reauth_next_url(self, request: HttpRequest, admin_id: int) -> str:
        return reverse("integrations:admin_remove", kwargs={"admin_id": admin_id})

    def get(self, request: HttpRequest, admin_id: int) -> HttpResponse:
        admin = get_object_or_404(active_admin_list(company=request.user.company), pk=admin_id)
        context = {
            "admin": admin,
            "is_last": active_admin_list(company=request.user.company).count() <= 1,
            "settings_tab": "admins",
        }
        return render(request, "integrations/admin_remove.html", context)

    def post(self, request: HttpRequest, admin_id: int) -> HttpResponse:
        try:
            removed = admin_remove(
                company=request.user.company,
                admin_id=admin_id,
                removed_by=request.user,
                ip_address=client_ip_address(request),
            )
        except AdminNotFound as error:
            raise Http404("No such admin.") from error
        except CannotRemoveYourself:
            messages.error(request, "You cannot remove yourself. Ask another admin to do it.")
        except LastAdmin:
            messages.error(
                request,
                "You cannot remove the company's last admin. Invite another admin first.",
            )
        else:
            messages.success(
                request,
                f"Removed {removed.email}. They can no longer sign in, and their open "
                "sessions have ended.",
            )
        return redirect("integrations:admin_list")


class TwoFactorRequirementView(CompanyAdminRequiredMixin, RecentSignInRequiredMixin, View):
    """Settings, General tab: require two-factor of the company's admins, or stop requiring it."""

    reauth_action = "two-factor-requirement"

    def reauth_next_url(self, request: HttpRequest) -> str:
        return reverse("integrations:settings")

    def post(self, request: HttpRequest) -> HttpResponse:
        form = TwoFactorRequirementForm(request.POST)
        form.is_valid()  # a checkbox: absent or any value is a valid answer
        required = bool(form.cleaned_data.get("require_two_factor"))
        company_two_factor_requirement_set(
            company=request.user.company,
            required=required,
            changed_by=request.user,
            ip_address=client_ip_address(request),
        )
        if required:
            messages.success(
                request,
                "Two-factor is now required: admins without it set it up at their next page.",
            )
        else:
            messages.success(request, "Two-factor is no longer required for admins.")
        return redirect("integrations:settings")
