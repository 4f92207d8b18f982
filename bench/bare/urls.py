from django.urls import path

from . import views

urlpatterns = [
    path("bare/Users", views.users),
    path("bare/Users/<str:user_name>", views.user),
]
