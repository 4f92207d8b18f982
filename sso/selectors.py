"""Read-side of single sign-on: which connection an email signs in through, and who it is."""

import uuid

from django.db.models import QuerySet
from django.db.models.functions import Lower

from integrations.models import Integration
from qaportal.accounts.models import Company, User

from .models import SsoConnection, VerifiedDomain


def sso_connection_get(*, integration: Integration) -> SsoConnection | None:
    return SsoConnection.objects.filter(integration=integration).first()


def _enabled_connections() -> QuerySet[SsoConnection]:
    return SsoConnection.objects.filter(
        is_enabled=True, integration__provider=Integration.Provider.ENTRA_ID
    ).select_related("integration__company")


def verified_domain_list(*, company: Company) -> QuerySet[VerifiedDomain]:
    return VerifiedDomain.objects.filter(company=company).order_by("domain")


def sso_connection_for_sign_in_link(*, sign_in_id: str) -> SsoConnection | None:
    """The connection whose sign-in link carries `sign_in_id`, switched on or not."""
    return (
        SsoConnection.objects.filter(
            sign_in_id=sign_in_id, integration__provider=Integration.Provider.ENTRA_ID
        )
        .select_related("integration__company")
        .first()
    )


def sso_connection_for_email(*, email: str) -> SsoConnection | None:
    """The switched-on connection that `email` signs in through from the shared sign-in page.

    An address at a verified domain belongs to that domain's company and to no other: it
    signs in through that company's connection or not at all (another company's SCIM could
    otherwise provision `ceo@<their domain>` and capture it). Other addresses are found by a
    provisioned account whose userName or work email is that address, in a company with single
    sign-on on, and only when exactly one company has such an account: data that another
    company provisions can never choose the company. None for no match and for several alike;
    the caller then points the person to their company's sign-in link
    (sso_connection_for_sign_in_link), which no other company's data can block.
    """
    address = email.strip().lower()
    domain = address.rpartition("@")[2]
    if not domain:
        return None
    connections = _enabled_connections()
    owner = (
        VerifiedDomain.objects.alias(domain_ci=Lower("domain"))
        .filter(domain_ci=domain)
        .values_list("company_id", flat=True)
        .first()
    )
    if owner is not None:
        return connections.filter(integration__company_id=owner).first()
    # Index-backed per company: (company, LOWER(user_name)) and (company, LOWER(work_email)).
    sso_companies = connections.values("integration__company_id")
    learners = User.objects.filter(company_id__in=sso_companies, role=User.Role.LEARNER)
    companies = set(
        learners.alias(user_name_ci=Lower("user_name"))
        .filter(user_name_ci=address)
        .values_list("company_id", flat=True)[:2]
    ) | set(
        learners.alias(work_email_ci=Lower("work_email"))
        .filter(work_email_ci=address)
        .values_list("company_id", flat=True)[:2]
    )
    if len(companies) != 1:
        return None
    return connections.filter(integration__company_id=companies.pop()).first()


def _guid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def provisioned_user_for_claims(
    *, company: Company, object_id: str, preferred_username: str
) -> User | None:
    """The company's SCIM user (a learner) an Entra ID token is about, active or not.

    By the token's `oid` against externalId first (when Entra maps objectId to externalId,
    the one identifier that survives a rename), then by `preferred_username` (the UPN)
    against userName, both in any case. A user found by userName whose externalId is another
    object id is someone else's old account (a UPN reused after a rename or a departure,
    before Entra's next sync), so it is not a match. Only the company's learners, the users
    SCIM provisions, are ever looked at.
    """
    users = User.objects.filter(company=company, role=User.Role.LEARNER).exclude(user_name=None)
    if object_id:
        # oid is a GUID: any case of its hex digits, still through the (company, external_id)
        # index.
        variants = {object_id, object_id.lower(), object_id.upper()}
        user = users.filter(external_id__in=variants).first()
        if user is not None:
            return user
    if not preferred_username:
        return None
    user = (
        users.alias(user_name_ci=Lower("user_name"))
        .filter(user_name_ci=preferred_username.strip().lower())
        .first()
    )
    if user is not None and _guid(user.external_id) not in (None, _guid(object_id)):
        return None  # its externalId is an object id, and not this token's
    return user


def password_sign_in_blocked(*, user: User) -> bool:
    """Whether `user` is a learner of a company that requires Microsoft sign-in."""
    if user.company_id is None or user.is_company_admin or user.is_staff:
        return False
    return SsoConnection.objects.filter(
        integration__company_id=user.company_id, is_enabled=True, require_sso=True
    ).exists()
