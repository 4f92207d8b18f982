from django.urls import path

from . import views

app_name = "bench_ceiling"
urlpatterns = [
    path("<int:company_id>/Users", views.users, name="users"),
    path("<int:company_id>/Users/<uuid:scim_id>", views.user, name="user"),
]
