"""SCIM 2.0 routes under the Tenant URL (filled in by the SCIM Users issue)."""

app_name = "scim"
urlpatterns: list = []
