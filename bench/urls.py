"""The project's routes plus the plain-Django ceiling endpoint of the benchmark."""

from django.urls import include, path

from qaportal.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("bench/ceiling/", include("bench.ceiling.urls")),
    *project_urlpatterns,
]
