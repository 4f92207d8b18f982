"""SCIM fixtures: a client holding the company's key exactly as Entra would send it."""

import json

import pytest
from django.test import Client

from tests.factories import LearnerFactory, TeamFactory

BASE = "/webhooks/ad/v1/scim"
SCIM_JSON = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


class ScimClient(Client):
    """Django's test client speaking SCIM as Entra does: over https, JSON bodies as
    application/scim+json."""

    def request(self, **request):
        # Django's client sends plain http unless told otherwise; Entra only speaks https.
        request.update({"wsgi.url_scheme": "https", "SERVER_PORT": "443"})
        return super().request(**request)

    def post_json(self, path, body, **extra):
        return self.generic("POST", path, _dumps(body), content_type=SCIM_JSON, **extra)

    def put_json(self, path, body, **extra):
        return self.generic("PUT", path, _dumps(body), content_type=SCIM_JSON, **extra)

    def patch_ops(self, path, *operations, **extra):
        body = {"schemas": [PATCH_OP], "Operations": list(operations)}
        return self.generic("PATCH", path, _dumps(body), content_type=SCIM_JSON, **extra)


def _dumps(body):
    return body if isinstance(body, str | bytes) else json.dumps(body)


@pytest.fixture
def scim_client(generated_key) -> ScimClient:
    return ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")


@pytest.fixture
def other_scim_client(other_generated_key) -> ScimClient:
    return ScimClient(HTTP_AUTHORIZATION=f"Bearer {other_generated_key.plaintext}")


@pytest.fixture
def learner(company):
    return LearnerFactory(company=company, user_name="alice@contoso.com", display_name="Alice")


@pytest.fixture
def other_company_user(other_company):
    return LearnerFactory(company=other_company, user_name="alice@contoso.com")


@pytest.fixture
def team(company):
    return TeamFactory(company=company, display_name="Sales")


def error_body(status, detail=None, scim_type=None):
    body = {"schemas": [ERROR], "status": str(status)}
    if scim_type:
        body["scimType"] = scim_type
    if detail is not None:
        body["detail"] = detail
    return body


def weak_version(moment) -> str:
    """The meta.version / ETag a resource last changed at `moment` has: W/"<µs since 1970, hex>"."""
    return f'W/"{round(moment.timestamp() * 1_000_000):x}"'
