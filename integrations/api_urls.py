"""URLs of the admin-automation API: /api/v1/..., the OpenAPI schema and its docs page."""

from django.contrib.auth.decorators import login_required
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import api

app_name = "api"

v1 = [
    path("integrations/", api.IntegrationListApi.as_view(), name="integration_list"),
    path(
        "integrations/<slug:provider>/",
        api.IntegrationDetailApi.as_view(),
        name="integration_detail",
    ),
    path("integrations/<slug:provider>/keys/", api.ApiKeyListApi.as_view(), name="api_key_list"),
    path(
        "integrations/<slug:provider>/keys/generate/",
        api.ApiKeyGenerateApi.as_view(),
        name="api_key_generate",
    ),
    path(
        "integrations/<slug:provider>/keys/<int:key_id>/revoke/",
        api.ApiKeyRevokeApi.as_view(),
        name="api_key_revoke",
    ),
    path("activity/", api.ProvisioningEventListApi.as_view(), name="activity_list"),
    path("users/", api.ProvisionedUserListApi.as_view(), name="user_list"),
    path("groups/", api.ProvisionedGroupListApi.as_view(), name="group_list"),
    # Anything else under /api/v1/ (a negative key id, a typo) answers in JSON like the rest,
    # not with the portal's HTML 404 page.
    re_path(r"", api.api_not_found),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI from drf-spectacular-sidecar's static files (no CDN); its init script is a
    # separate request, so no inline script is needed. Anonymous visitors go to sign-in.
    path(
        "docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
        name="docs",
    ),
]
