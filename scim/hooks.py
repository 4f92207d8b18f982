"""django-scim2 hooks named in settings.SCIM_SERVICE_PROVIDER.

django-scim2 imports these once, when its views module is imported, so they must not import
django_scim.views or scim.views.
"""

from collections.abc import Callable

from django.db.models import Model
from django.http import HttpRequest

from qaportal.accounts.models import Group, User

from . import selectors


def get_extra_model_filter_kwargs_getter(model: type[Model]) -> Callable[..., dict]:
    """GET_EXTRA_MODEL_FILTER_KWARGS_GETTER: the tenant scope of every get, list and filter.

    The company comes from the bearer key only (stored on the request by the auth check).
    """

    def get_extra_filter_kwargs(request: HttpRequest, *args, **kwargs) -> dict:
        company_id = request.scim_company_id  # type: ignore[attr-defined]
        if model is User:
            return selectors.user_scope(company_id=company_id)
        if model is Group:
            return selectors.group_scope(company_id=company_id)
        # Anything else (django-scim2's "search" pseudo model) matches nothing of ours.
        return {"pk__in": []}

    return get_extra_filter_kwargs


def base_location_getter(request: HttpRequest | None = None, *args, **kwargs) -> str:
    """BASE_LOCATION_GETTER: the origin the request came to (the Tenant URL's origin).

    The scheme is the request's: https behind the TLS-terminating proxy (SECURE_PROXY_SSL_HEADER),
    http on the plain development server, so every meta.location can be followed as given.
    """
    if request is None:
        return "https://localhost"
    return f"{request.scheme}://{request.get_host()}"
