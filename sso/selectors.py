"""Read-side of single sign-on: which connection an email signs in through, and who it is."""

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


def sso_connection_for_email(*, email: str) -> SsoConnection | None:
    """The switched-on connection that `email` signs in through, if any.

    First by a verified company domain, which looks at no account at all; then by a
    provisioned account whose userName or work email is that address, in a company with
    single sign-on on (an address in two such companies is ambiguous: neither is chosen).
    Either way the caller answers the same as for an address with no account (sso/views.py).
    """
    address = email.strip().lower()
    domain = address.rpartition("@")[2]
    if not domain:
        return None
    connections = _enabled_connections()
    owner = (
        VerifiedDomain.objects.alias(domain_ci=Lower("domain"))
        .filter(domain_ci=domain)
        .values("company_id")[:1]
    )
    by_domain = connections.filter(integration__company_id__in=owner).first()
    if by_domain is not None:
        return by_domain
    # Index-backed per company: (company, LOWER(user_name)) and (company, LOWER(work_email)).
    sso_companies = connections.values("integration__company_id")
    companies = set(
        User.objects.alias(user_name_ci=Lower("user_name"))
        .filter(company_id__in=sso_companies, user_name_ci=address)
        .values_list("company_id", flat=True)[:2]
    ) | set(
        User.objects.alias(work_email_ci=Lower("work_email"))
        .filter(company_id__in=sso_companies, work_email_ci=address)
        .values_list("company_id", flat=True)[:2]
    )
    if len(companies) != 1:
        return None
    return connections.filter(integration__company_id=companies.pop()).first()


def provisioned_user_for_claims(
    *, company: Company, object_id: str, preferred_username: str
) -> User | None:
    """The company's SCIM user an Entra ID token is about, active or not.

    By the token's `oid` against externalId first (when Entra maps objectId to externalId,
    the one identifier that survives a rename), then by `preferred_username` (the UPN)
    against userName, both in any case. Only users of `company` are ever looked at.
    """
    users = User.objects.filter(company=company).exclude(user_name=None)
    if object_id:
        # oid is a GUID: any case of its hex digits, still through the (company, external_id)
        # index.
        variants = {object_id, object_id.lower(), object_id.upper()}
        user = users.filter(external_id__in=variants).first()
        if user is not None:
            return user
    if preferred_username:
        return (
            users.alias(user_name_ci=Lower("user_name"))
            .filter(user_name_ci=preferred_username.strip().lower())
            .first()
        )
    return None


def password_sign_in_blocked(*, user: User) -> bool:
    """Whether `user` is a learner of a company that requires Microsoft sign-in."""
    if user.company_id is None or user.is_company_admin or user.is_staff:
        return False
    return SsoConnection.objects.filter(
        integration__company_id=user.company_id, is_enabled=True, require_sso=True
    ).exists()
