from django.urls import path

from . import access_views, two_factor_views, views

app_name = "accounts"
urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("login/code/", views.SignInCodeView.as_view(), name="sign_in_code"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("confirm-password/", views.PasswordConfirmView.as_view(), name="password_confirm"),
    path("teams/", views.TeamListView.as_view(), name="team_list"),
    path("teams/<int:team_id>/", views.TeamDetailView.as_view(), name="team_detail"),
    path(
        "invitations/<uuid:public_id>/<str:token>/",
        access_views.InvitationAcceptView.as_view(),
        name="invitation_accept",
    ),
    path(
        "password-reset/",
        access_views.PasswordResetRequestView.as_view(),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        access_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        access_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("account/two-factor/", two_factor_views.TwoFactorView.as_view(), name="two_factor"),
    path(
        "account/two-factor/set-up/",
        two_factor_views.TwoFactorEnrolView.as_view(),
        name="two_factor_enrol",
    ),
    path(
        "account/two-factor/<slug:change>/",
        two_factor_views.TwoFactorChangeView.as_view(),
        name="two_factor_change",
    ),
]
