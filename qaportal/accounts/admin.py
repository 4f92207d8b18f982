"""Django admin for QA staff: companies, people and teams across every company.

Writes go through the accounts services (a company and a company admin are created by
`company_create` / `company_admin_create`, a company is renamed by `company_rename`).
Provisioned users and teams belong to Microsoft Entra ID: their SCIM attributes are shown
read-only, since an edit here would be overwritten by the next sync and would bypass the
provisioning log. The integrations app extends the Company page with its integrations
(integrations/admin.py), keeping the one-way dependency.

A company is deleted through `company_delete` on its own confirmation page: while it has
provisioned users, staff type its slug and confirm their number; the bulk delete action is
disabled, since it would skip that page.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.forms import BaseModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_variables
from django_otp.plugins.otp_totp.models import TOTPDevice

from .exceptions import CompanyHasProvisionedUsers
from .models import AccountAuditEvent, Company, Group, User
from .selectors import company_summary_get
from .services.companies import (
    company_admin_create,
    company_create,
    company_delete,
    company_rename,
)
from .services.two_factor import two_factor_disable

SCIM_FIELDS = (
    "scim_id",
    "user_name",
    "external_id",
    "given_name",
    "family_name",
    "formatted_name",
    "display_name",
    "nick_name",
    "title",
    "work_email",
    "emails",
    "phone_numbers",
    "addresses",
    "employee_number",
    "department",
    "manager",
)


def _changelist_link(model_name: str, label: str, **filters: object) -> str:
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    url = reverse(f"admin:accounts_{model_name}_changelist")
    return format_html('<a href="{}?{}">{}</a>', url, query, label)


class CompanyAdminInline(admin.TabularInline):
    """The company's admins, read-only; add one from Users > Add user."""

    model = User
    verbose_name = "company admin"
    verbose_name_plural = "company admins"
    fields = ("admin_link", "is_active", "last_login", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).filter(role=User.Role.ADMIN).order_by("email")

    def has_add_permission(self, request: HttpRequest, obj: Company | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Company | None = None) -> bool:
        return False

    @admin.display(description="Email")
    def admin_link(self, user: User) -> str:
        url = reverse("admin:accounts_user_change", args=[user.pk])
        return format_html('<a href="{}">{}</a>', url, user.email)


class CompanyDeleteForm(forms.Form):
    """Confirms deleting a company. With provisioned users, the staff member types the slug
    and ticks that the number shown will be deleted; that number is posted back, so the
    service refuses if it changed in the meantime."""

    provisioned_user_count = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    slug = forms.CharField(max_length=64, strip=True)
    understood = forms.BooleanField()

    def __init__(self, *args: object, company: Company, learner_count: int, **kwargs: object):
        super().__init__(*args, **kwargs)
        self.company = company
        self.fields["provisioned_user_count"].initial = learner_count
        if learner_count:
            self.fields["slug"].label = f"Type the company slug ({company.slug}) to confirm"
            self.fields[
                "understood"
            ].label = f"I understand {learner_count} provisioned users will be deleted"
            self.fields["understood"].error_messages["required"] = (
                f"Tick this box to confirm that {learner_count} provisioned users will be deleted."
            )
        else:
            del self.fields["slug"], self.fields["understood"]

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if slug != self.company.slug:
            raise forms.ValidationError("This is not the slug of the company being deleted.")
        return slug


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "admin_count", "learner_count", "created_at")
    search_fields = ("name", "slug")
    ordering = ("name",)
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("people", "created_at")
    inlines = [CompanyAdminInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Company]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                admin_count=Count("users", filter=Q(users__role=User.Role.ADMIN)),
                learner_count=Count("users", filter=Q(users__role=User.Role.LEARNER)),
            )
        )

    def get_fields(self, request: HttpRequest, obj: Company | None = None) -> list[str]:
        return ["name", "slug"] if obj is None else ["name", "slug", "people", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Company | None = None) -> tuple:
        # The slug names the company in staff commands (generate_api_key SLUG): fixed once made.
        return self.readonly_fields if obj is None else (*self.readonly_fields, "slug")

    def get_prepopulated_fields(self, request: HttpRequest, obj: Company | None = None) -> dict:
        return self.prepopulated_fields if obj is None else {}

    @admin.display(description="Admins", ordering="admin_count")
    def admin_count(self, company: Company) -> int:
        return company.admin_count

    @admin.display(description="Provisioned users", ordering="learner_count")
    def learner_count(self, company: Company) -> int:
        return company.learner_count

    @admin.display(description="People and teams")
    def people(self, company: Company) -> str:
        return format_html(
            "{} · {} · {}",
            _changelist_link("user", "All users", company__id__exact=company.pk),
            _changelist_link(
                "user", "Company admins", company__id__exact=company.pk, role__exact="admin"
            ),
            _changelist_link("group", "Teams", company__id__exact=company.pk),
        )

    def save_model(
        self, request: HttpRequest, obj: Company, form: BaseModelForm, change: bool
    ) -> None:
        if change:
            company_rename(company=obj, name=obj.name)
            return
        created = company_create(slug=obj.slug, name=obj.name)
        # The admin goes on with `obj` (log entry, redirect), so it becomes the saved row.
        obj.pk, obj.created_at = created.pk, created.created_at
        obj._state.adding = False

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        # "Delete selected" would delete provisioned users without the confirmation page.
        actions.pop("delete_selected", None)
        return actions

    def has_company_delete_permission(self, request: HttpRequest, company: Company) -> bool:
        # The stock page also demands the right to delete every related row; the people are
        # the ones that matter (integrations and logs are read-only in admin by design).
        return self.has_delete_permission(request, company) and request.user.has_perm(
            "accounts.delete_user"
        )

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        """Replaces the stock page, which lists every row and stops at User.company PROTECT."""
        company = self.get_object(request, unquote(object_id))
        if company is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_company_delete_permission(request, company):
            raise PermissionDenied
        summary = company_summary_get(company=company)
        if request.method != "POST":
            form = CompanyDeleteForm(company=company, learner_count=summary.learner_count)
        else:
            form = CompanyDeleteForm(
                request.POST, company=company, learner_count=summary.learner_count
            )
            if form.is_valid():
                try:
                    with transaction.atomic():
                        # Logged first (it needs the row); rolled back if the deletion is refused.
                        self.log_deletions(request, Company.objects.filter(pk=company.pk))
                        deletion = company_delete(
                            company=company,
                            confirmed_provisioned_user_count=form.cleaned_data[
                                "provisioned_user_count"
                            ],
                        )
                except CompanyHasProvisionedUsers as exc:
                    # Users were provisioned after the page was shown: show the new count and
                    # ask again, with the box unticked.
                    summary = company_summary_get(company=company)
                    data = request.POST.copy()
                    data.pop("understood", None)
                    form = CompanyDeleteForm(
                        data, company=company, learner_count=summary.learner_count
                    )
                    form.add_error(
                        None,
                        f"The company now has {exc.learner_count} provisioned users, not "
                        f"{exc.confirmed_count}. Check the numbers and confirm again.",
                    )
                else:
                    self.message_user(
                        request,
                        f"Deleted the company {company.name}: {deletion.learner_count} "
                        f"provisioned users, {deletion.admin_count} admins, "
                        f"{deletion.team_count} teams.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:accounts_company_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Delete the company {company.name}",
            "opts": self.opts,
            "object": company,
            "summary": summary,
            # By the reverse relation's name: accounts must not import integrations.
            "api_key_count": Company.objects.filter(pk=company.pk).aggregate(
                count=Count("integrations__api_keys")
            )["count"],
            "form": form,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/accounts/company/delete_confirmation.html", context)


class CompanyAdminCreationForm(BaseUserCreationForm):
    """Staff create a company admin: a sign-in email, the company, a password.

    Staff accounts are made with `manage.py createsuperuser`; learners only come from SCIM.
    """

    company = forms.ModelChoiceField(queryset=Company.objects.order_by("name"))

    class Meta:
        model = User
        fields = ("email", "company")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True

    def clean_email(self) -> str:
        email = User.objects.normalize_sign_in_email(self.cleaned_data["email"] or "")
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError("An account with this email already exists.")
        return email

    def _post_clean(self) -> None:
        # The password validators compare against the admin as it will be saved.
        self.instance.role = User.Role.ADMIN
        super()._post_clean()


class UserAdminChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self) -> str | None:
        email = self.cleaned_data.get("email")
        return User.objects.normalize_sign_in_email(email) if email else None

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("role") == User.Role.ADMIN and not (
            cleaned.get("company") and cleaned.get("email")
        ):
            raise forms.ValidationError("A company admin needs a company and a sign-in email.")
        return cleaned


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = CompanyAdminCreationForm
    list_display = ("email", "user_name", "company", "role", "is_active", "is_staff")
    list_filter = ("role", "is_active", "is_staff", "is_superuser", "company")
    list_select_related = ("company",)
    search_fields = (
        "email",
        "user_name",
        "display_name",
        "external_id",
        "work_email",
        "company__name",
        "company__slug",
    )
    ordering = ("company__name", "email", "user_name")
    autocomplete_fields = ("company",)
    filter_horizontal = ("groups", "user_permissions")
    readonly_fields = (*SCIM_FIELDS, "has_two_factor", "last_login", "created_at", "updated_at")
    actions = ["two_factor_turn_off"]
    fieldsets = (
        (None, {"fields": ("email", "password", "has_two_factor")}),
        ("Company", {"fields": ("company", "role")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (
            "SCIM attributes (managed by Microsoft Entra ID)",
            {"classes": ("collapse",), "fields": SCIM_FIELDS},
        ),
        ("Dates", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (
            "New company admin",
            {
                "description": "Company admins sign in to the portal with this email and "
                "password. Staff accounts are created with manage.py createsuperuser.",
                "fields": ("email", "company", "password1", "password2"),
            },
        ),
    )

    @admin.action(description="Turn off two-factor (lost phone and recovery codes)")
    def two_factor_turn_off(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """For someone who lost both their authenticator and their recovery codes, once QA
        support has checked who they are. Audited in their company's trail."""
        users = list(queryset.filter(has_two_factor=True))
        for user in users:
            two_factor_disable(user=user, by_staff=request.user)
        self.message_user(
            request,
            f"Two-factor turned off for {len(users)} account(s); they sign in with their "
            "password and can set it up again.",
            messages.SUCCESS,
        )

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # The team page links here with ?teams__id__exact=<id> to list its members.
        return lookup == "teams__id__exact" or super().lookup_allowed(lookup, value, request)

    @sensitive_variables("form")
    def save_form(self, request: HttpRequest, form: BaseModelForm, change: bool) -> User:
        if change:
            return super().save_form(request, form, change)
        return company_admin_create(
            company=form.cleaned_data["company"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
        )

    def save_model(
        self, request: HttpRequest, obj: User, form: BaseModelForm, change: bool
    ) -> None:
        if change:  # a new admin was saved by company_admin_create in save_form
            super().save_model(request, obj, form, change)

    def save_related(
        self, request: HttpRequest, form: BaseModelForm, formsets: list, change: bool
    ) -> None:
        if change:  # the creation form has no related fields
            super().save_related(request, form, formsets, change)


@admin.register(Group)
class TeamAdmin(admin.ModelAdmin):
    """Teams are provisioned by Microsoft Entra ID (SCIM Groups): view only."""

    list_display = ("display_name", "company", "member_count", "external_id", "created_at")
    list_filter = ("company",)
    list_select_related = ("company",)
    search_fields = ("display_name", "external_id", "company__name", "company__slug")
    ordering = ("company__name", "display_name")
    fields = (
        "display_name",
        "company",
        "external_id",
        "scim_id",
        "members_link",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Group]:
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        return False

    @admin.display(description="Members", ordering="member_count")
    def member_count(self, team: Group) -> int:
        return team.member_count

    @admin.display(description="Members")
    def members_link(self, team: Group) -> str:
        return _changelist_link("user", f"{team.member_count} members", teams__id__exact=team.pk)


@admin.register(AccountAuditEvent)
class AccountAuditEventAdmin(admin.ModelAdmin):
    """What happened to admin accounts, across companies. Append-only: nothing here writes."""

    list_display = ("created_at", "company", "action", "subject_email", "actor", "ip_address")
    list_filter = ("action", "company")
    list_select_related = ("company", "actor")
    search_fields = ("subject_email", "actor__email", "company__name", "company__slug")
    ordering = ("-created_at", "-id")
    date_hierarchy = "created_at"
    fields = ("created_at", "company", "action", "subject_email", "actor", "ip_address", "detail")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# Authenticators are managed through the services above (which keep User.has_two_factor in
# step), not edited row by row; django-otp's own admin would also show their keys.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)
