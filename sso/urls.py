from django.urls import path

from . import views

app_name = "sso"
urlpatterns = [
    path("sso/start/", views.SsoStartView.as_view(), name="start"),
    # The Redirect URI registered in Entra: one for every company (the state says which).
    path("sso/callback/", views.SsoCallbackView.as_view(), name="callback"),
    path(
        "settings/integrations/<slug:provider>/single-sign-on/",
        views.SsoSettingsView.as_view(),
        name="settings",
    ),
]
