"""Microsoft Entra ID's OpenID Connect v2.0 endpoints for one tenant.

They are fixed by Microsoft (https://login.microsoftonline.com/{tenant}/v2.0/.well-known/
openid-configuration lists exactly these), so no discovery request is made per sign-in.
QA_SSO_AUTHORITY is Microsoft's host in production; tests point it at a local provider that
serves the same paths.
"""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class EntraEndpoints:
    issuer: str
    authorization: str
    token: str
    jwks: str


def entra_endpoints(*, tenant_id: str) -> EntraEndpoints:
    base = f"{settings.QA_SSO_AUTHORITY}/{tenant_id}"
    return EntraEndpoints(
        issuer=f"{base}/v2.0",
        authorization=f"{base}/oauth2/v2.0/authorize",
        token=f"{base}/oauth2/v2.0/token",
        jwks=f"{base}/discovery/v2.0/keys",
    )
