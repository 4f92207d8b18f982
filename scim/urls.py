"""SCIM 2.0 routes under the Tenant URL (namespace "scim").

django-scim2's adapters reverse these names (users, groups, resource-types, schemas, …).
Every path answers with and without a trailing slash, never with a redirect
(docs/entra-behaviour.md), and anything else under the base is a SCIM 404.
"""

from django.urls import re_path

from . import views

app_name = "scim"

_ID = r"(?P<uuid>[^/]+)"

urlpatterns = [
    re_path(r"^$", views.UnknownEndpointView.as_view(), name="root"),
    re_path(r"^Users/?$", views.UsersView.as_view(), name="users"),
    re_path(r"^Users/\.search/?$", views.NotImplementedView.as_view(), name="users-search"),
    re_path(rf"^Users/{_ID}/?$", views.UsersView.as_view(), name="users"),
    re_path(r"^Groups/?$", views.GroupsView.as_view(), name="groups"),
    re_path(r"^Groups/\.search/?$", views.NotImplementedView.as_view(), name="groups-search"),
    re_path(rf"^Groups/{_ID}/?$", views.GroupsView.as_view(), name="groups"),
    re_path(
        r"^ServiceProviderConfig/?$",
        views.ServiceProviderConfigView.as_view(),
        name="service-provider-config",
    ),
    re_path(r"^ResourceTypes/?$", views.ResourceTypesView.as_view(), name="resource-types"),
    re_path(rf"^ResourceTypes/{_ID}/?$", views.ResourceTypesView.as_view(), name="resource-types"),
    re_path(r"^Schemas/?$", views.SchemasView.as_view(), name="schemas"),
    re_path(rf"^Schemas/{_ID}/?$", views.SchemasView.as_view(), name="schemas"),
    re_path(r"^\.search/?$", views.NotImplementedView.as_view(), name="search"),
    re_path(r"^Me/?$", views.NotImplementedView.as_view(), name="me"),
    re_path(r"^Bulk/?$", views.NotImplementedView.as_view(), name="bulk"),
    re_path(r"^.*$", views.UnknownEndpointView.as_view(), name="unknown"),
]
