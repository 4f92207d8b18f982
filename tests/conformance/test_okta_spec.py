"""Okta's SCIM 2.0 SPEC test (a Runscope export), replayed by okta_runner on the live endpoint."""

import random

import httpx2
import pytest

from tests.conformance.okta_runner import SPEC_FILE, OktaSpecRunner, load_spec, okta_variables
from tests.factories import LearnerFactory

pytestmark = pytest.mark.conformance


@pytest.mark.django_db(transaction=True)
def test_okta_scim_spec_test_passes(scim_server, conformance_dir):
    # Step 1 lists one user and requires name, userName, active and emails[0].value on it.
    LearnerFactory(
        company=scim_server.company,
        user_name="existing.learner@contoso.com",
        given_name="Existing",
        family_name="Learner",
        emails=[{"value": "existing.learner@contoso.com", "type": "work", "primary": True}],
        work_email="existing.learner@contoso.com",
    )
    spec = load_spec(conformance_dir / SPEC_FILE)
    variables = okta_variables(
        base_url=scim_server.base_url,
        authorization=scim_server.authorization,
        rng=random.Random(20240523),  # noqa: S311 (test data, not a secret)
    )
    with httpx2.Client(timeout=15, follow_redirects=False) as client:
        results = OktaSpecRunner(spec, variables, client).run()

    assert len(results) == 12
    failed = [result for result in results if not result.passed]
    assertions = sum(len(result.assertions) for result in results)
    assert not failed, (
        f"{len(failed)} of {len(results)} Okta steps failed ({assertions} assertions):\n\n"
        + "\n\n".join(result.describe() for result in failed)
    )
