from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path(f"{settings.SCIM_BASE_PATH}/", include("scim.urls", namespace="scim")),
    path("settings/", include("integrations.urls", namespace="integrations")),
    path("people/", include("integrations.people_urls", namespace="people")),
    path("api/", include("integrations.api_urls", namespace="api")),
    path("", include("sso.urls", namespace="sso")),
    path("", include("qaportal.accounts.urls", namespace="accounts")),
]
