from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("confirm-password/", views.PasswordConfirmView.as_view(), name="password_confirm"),
    path("teams/", views.TeamListView.as_view(), name="team_list"),
    path("teams/<int:team_id>/", views.TeamDetailView.as_view(), name="team_detail"),
]
