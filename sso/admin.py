from django.contrib import admin

from .models import SsoConnection, VerifiedDomain
from .services import sso_connection_save


@admin.register(SsoConnection)
class SsoConnectionAdmin(admin.ModelAdmin):
    """Staff see and can switch off a company's SSO; the secret is the company admin's to set."""

    list_display = [
        "integration",
        "tenant_id",
        "client_id",
        "is_enabled",
        "require_sso",
        "updated_at",
    ]
    list_filter = ["is_enabled", "require_sso"]
    search_fields = ["integration__company__name", "integration__company__slug", "tenant_id"]
    # Staff can switch SSO (or Require SSO) off in an incident; the Entra IDs and the secret
    # are the company admin's, set on the integration page.
    readonly_fields = [
        "integration",
        "tenant_id",
        "client_id",
        "client_secret_hint",
        "sign_in_id",
        "updated_at",
        "updated_by",
    ]
    fields = [
        "integration",
        "tenant_id",
        "client_id",
        "client_secret_hint",
        "sign_in_id",
        "is_enabled",
        "require_sso",
        "updated_at",
        "updated_by",
    ]
    list_select_related = ["integration__company"]

    def has_add_permission(self, request) -> bool:
        # Created by the company admin with a secret; an SSO connection without one is useless.
        return False

    def save_model(self, request, obj, form, change) -> None:
        sso_connection_save(
            integration=obj.integration,
            tenant_id=obj.tenant_id,
            client_id=obj.client_id,
            client_secret="",
            is_enabled=obj.is_enabled,
            require_sso=obj.require_sso,
            updated_by=request.user,
        )


@admin.register(VerifiedDomain)
class VerifiedDomainAdmin(admin.ModelAdmin):
    """Domains staff have verified as a company's (for example by a DNS TXT record)."""

    list_display = ["domain", "company", "verified_at", "verified_by"]
    search_fields = ["domain", "company__name", "company__slug"]
    autocomplete_fields = ["company"]
    readonly_fields = ["verified_at", "verified_by"]
    fields = ["domain", "company", "verified_at", "verified_by"]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.verified_by = request.user
        super().save_model(request, obj, form, change)
