from django.urls import path

from . import views

app_name = "sso"
urlpatterns = [
    path("sso/start/", views.SsoStartView.as_view(), name="start"),
    # A company's own sign-in link, which its admin shares with its learners.
    path("sso/c/<slug:sign_in_id>/", views.SsoLinkSignInView.as_view(), name="link_sign_in"),
    # The Redirect URI registered in Entra: one for every company (the state says which).
    path("sso/callback/", views.SsoCallbackView.as_view(), name="callback"),
    path(
        "settings/integrations/<slug:provider>/single-sign-on/",
        views.SsoSettingsView.as_view(),
        name="settings",
    ),
]
