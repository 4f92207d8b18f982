"""SCIM 2.0 routes under the Tenant URL (namespace "scim").

The adapters reverse these names for meta.location (users, groups, resource-types, schemas).
Every path answers with and without a trailing slash, never with a redirect
(docs/entra-behaviour.md), and anything else under the base is a SCIM 404.
"""

from django.urls import re_path

from .views import discovery, groups, search, users

app_name = "scim"

_ID = r"(?P<uuid>[^/]+)"

urlpatterns = [
    re_path(r"^$", discovery.UnknownEndpointView.as_view(), name="root"),
    re_path(r"^Users/?$", users.UsersView.as_view(), name="users"),
    re_path(r"^Users/\.search/?$", users.UsersSearchView.as_view(), name="users-search"),
    re_path(rf"^Users/{_ID}/?$", users.UsersView.as_view(), name="users"),
    re_path(r"^Groups/?$", groups.GroupsView.as_view(), name="groups"),
    re_path(r"^Groups/\.search/?$", groups.GroupsSearchView.as_view(), name="groups-search"),
    re_path(rf"^Groups/{_ID}/?$", groups.GroupsView.as_view(), name="groups"),
    re_path(
        r"^ServiceProviderConfig/?$",
        discovery.ServiceProviderConfigView.as_view(),
        name="service-provider-config",
    ),
    re_path(r"^ResourceTypes/?$", discovery.ResourceTypesView.as_view(), name="resource-types"),
    re_path(
        rf"^ResourceTypes/{_ID}/?$", discovery.ResourceTypesView.as_view(), name="resource-types"
    ),
    re_path(r"^Schemas/?$", discovery.SchemasView.as_view(), name="schemas"),
    re_path(rf"^Schemas/{_ID}/?$", discovery.SchemasView.as_view(), name="schemas"),
    re_path(r"^\.search/?$", search.RootSearchView.as_view(), name="search"),
    re_path(r"^Me/?$", discovery.NotImplementedView.as_view(), name="me"),
    re_path(r"^Bulk/?$", discovery.NotImplementedView.as_view(), name="bulk"),
    re_path(r"^.*$", discovery.UnknownEndpointView.as_view(), name="unknown"),
]
