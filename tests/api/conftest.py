"""API fixtures: signed-in sessions holding a CSRF token, as a browser or script would."""

import pytest
from django.test import Client
from django.utils.crypto import get_random_string

from tests.factories import LearnerFactory, TeamFactory

API = "/api/v1"
ENTRA = f"{API}/integrations/entra-id"


def session_client(user, *, with_csrf_header: bool = True) -> Client:
    """A client signed in as `user` that, like a browser, must pass the CSRF check.

    The csrftoken cookie is what Django would have set on an earlier page; unsafe methods
    must echo it in X-CSRFToken (SessionAuthentication enforces it).
    """
    token = get_random_string(32)
    headers = {"HTTP_X_CSRFTOKEN": token} if with_csrf_header else {}
    client = Client(enforce_csrf_checks=True, **headers)
    client.force_login(user)
    client.cookies["csrftoken"] = token
    return client


@pytest.fixture
def api_client(admin_user) -> Client:
    return session_client(admin_user)


@pytest.fixture
def other_api_client(other_admin_user) -> Client:
    return session_client(other_admin_user)


@pytest.fixture
def learner(company):
    return LearnerFactory(company=company, user_name="alice@contoso.com", display_name="Alice")


@pytest.fixture
def other_learner(other_company):
    return LearnerFactory(company=other_company, user_name="alice@contoso.com")


@pytest.fixture
def team(company, learner):
    team = TeamFactory(company=company, display_name="Sales")
    team.members.add(learner)
    return team


@pytest.fixture
def other_team(other_company):
    return TeamFactory(company=other_company, display_name="Sales")
