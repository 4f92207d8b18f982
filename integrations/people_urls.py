from django.urls import path

from . import people_views

app_name = "people"
urlpatterns = [
    path("", people_views.PersonListView.as_view(), name="person_list"),
    path("export.csv", people_views.PersonExportView.as_view(), name="person_export"),
    path("<int:person_id>/", people_views.PersonDetailView.as_view(), name="person_detail"),
]
