"""SCIM views, one module per resource: they parse the request, call one scim service or
selector, and render. The HTTP base (errors, JSON, paging) is scim/http.py."""
