"""Entra's v2.0 paths, with the tenant (any string) as the first path segment."""

from django.urls import path
from oauth2_provider.views import AuthorizationView, UserInfoView

from . import views

urlpatterns = [
    path(
        "<str:tenant>/v2.0/.well-known/openid-configuration",
        views.OpenIdConfigurationView.as_view(),
        name="openid-configuration",
    ),
    path("<str:tenant>/oauth2/v2.0/authorize", AuthorizationView.as_view(), name="authorize"),
    path("<str:tenant>/oauth2/v2.0/token", views.TokenIssueView.as_view(), name="token"),
    path("<str:tenant>/oauth2/v2.0/logout", views.SignOutView.as_view(), name="logout"),
    path(
        "<str:tenant>/discovery/v2.0/keys",
        views.SigningKeysListView.as_view(),
        name="keys",
    ),
    # Entra's userinfo is Microsoft Graph's https://graph.microsoft.com/oidc/userinfo.
    path("oidc/userinfo", UserInfoView.as_view(), name="userinfo"),
    path("login", views.SignInView.as_view(), name="signin"),
    path("_control/users", views.ControlUserCreateView.as_view()),
    path("_control/clients", views.ControlClientRegisterView.as_view()),
    path("_control/faults", views.ControlFaultSetView.as_view()),
    path("_control/rotate-key", views.ControlKeyRotateView.as_view()),
    path("_control/stats", views.ControlStatsView.as_view()),
    path("_control/reset", views.ControlResetView.as_view()),
]
