"""SCIM requests take a middleware chain of their own: only what a bearer-key API needs.

The portal's chain loads sessions, checks CSRF, resolves the signed-in user, reads messages,
enforces two-factor, writes a Content-Security-Policy and runs django-axes. None of that means
anything to Microsoft Entra ID calling `/webhooks/ad/v1/scim` with a bearer key, and each costs
time on every provisioning request (and, with a cookie, database queries that fail with the
database). So this middleware, placed early in MIDDLEWARE, hands SCIM paths to a handler whose
chain is SCIM_MIDDLEWARE (the security headers and the HTTPS redirect, and the fixed headers
of an API below); the view's own dispatch adds the bearer-key check. Every other path goes on
through the portal's chain.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string


class _ScimHandler(BaseHandler):
    """Django's request handler with SCIM_MIDDLEWARE instead of MIDDLEWARE (sync only)."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(settings.SCIM_MIDDLEWARE):
            middleware = import_string(path)(handler)
            if middleware is None:
                raise ImproperlyConfigured(f"Middleware factory {path} returned None.")
            if hasattr(middleware, "process_view"):
                self._view_middleware.insert(0, middleware.process_view)
            if hasattr(middleware, "process_template_response"):
                self._template_response_middleware.append(middleware.process_template_response)
            if hasattr(middleware, "process_exception"):
                self._exception_middleware.append(middleware.process_exception)
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler


class ScimEdgeMiddleware:
    """Route SCIM paths to the short chain; everything else to the rest of MIDDLEWARE."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.prefix = f"/{settings.SCIM_BASE_PATH.strip('/')}/"
        self.scim_handler = _ScimHandler()
        self.scim_handler.load_middleware()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(self.prefix) or request.path_info == self.prefix[:-1]:
            # The chain, not get_response(): the outer handler logs the answer once.
            return self.scim_handler._middleware_chain(request)
        return self.get_response(request)


# A JSON API loads nothing and is never framed: one fixed policy, no per-request work.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"


class ApiHeadersMiddleware:
    """The fixed security headers of every SCIM answer (the portal's CSP middleware builds a
    policy per page; an API needs only this one)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", API_CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response
