from django.urls import path

from . import company_admin_views, views
from .exports import views as export_views

app_name = "integrations"
urlpatterns = [
    path("", views.SettingsView.as_view(), name="settings"),
    path(
        "two-factor/",
        company_admin_views.TwoFactorRequirementView.as_view(),
        name="two_factor_requirement",
    ),
    path("admins/", company_admin_views.AdminListView.as_view(), name="admin_list"),
    path("admins/invite/", company_admin_views.AdminInviteView.as_view(), name="admin_invite"),
    path(
        "admins/<int:admin_id>/remove/",
        company_admin_views.AdminRemoveView.as_view(),
        name="admin_remove",
    ),
    path(
        "admins/invitations/<int:invitation_id>/resend/",
        company_admin_views.AdminInvitationResendView.as_view(),
        name="admin_invitation_resend",
    ),
    path(
        "admins/invitations/<int:invitation_id>/revoke/",
        company_admin_views.AdminInvitationRevokeView.as_view(),
        name="admin_invitation_revoke",
    ),
    path("activity/", views.ActivityRedirectView.as_view(), name="activity"),
    path(
        "activity/<int:event_id>/",
        views.ProvisioningEventDetailView.as_view(),
        name="provisioning_event_detail",
    ),
    path("integrations/", views.IntegrationListView.as_view(), name="integration_list"),
    path(
        "integrations/<slug:provider>/",
        views.IntegrationDetailView.as_view(),
        name="integration_detail",
    ),
    path(
        "integrations/<slug:provider>/keys/",
        views.ApiKeyGenerateView.as_view(),
        name="api_key_generate",
    ),
    path(
        "integrations/<slug:provider>/keys/<int:key_id>/revoke/",
        views.ApiKeyRevokeView.as_view(),
        name="api_key_revoke",
    ),
    path(
        "integrations/<slug:provider>/activity/",
        views.ProvisioningActivityView.as_view(),
        name="provisioning_activity",
    ),
    path(
        "integrations/<slug:provider>/activity/export.csv",
        views.ProvisioningActivityExportView.as_view(),
        name="provisioning_activity_export",
    ),
    path(
        "integrations/<slug:provider>/audit/",
        views.AuditTrailView.as_view(),
        name="audit_trail",
    ),
    # Large CSV exports, prepared by a worker (integrations/exports/).
    path(
        "exports/<int:job_id>/",
        export_views.ExportJobDetailView.as_view(),
        name="export_job_detail",
    ),
    path(
        "exports/<int:job_id>/progress/",
        export_views.ExportJobProgressView.as_view(),
        name="export_job_progress",
    ),
    path(
        "exports/<int:job_id>/download/",
        export_views.ExportJobDownloadView.as_view(),
        name="export_job_download",
    ),
]
