"""Single sign-on with Microsoft Entra ID (OpenID Connect), per company."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from integrations.models import Integration
from qaportal.accounts.models import Company


def sign_in_id_new() -> str:
    """An opaque id for a company's sign-in link: 128 random bits, URL-safe, no company name."""
    return secrets.token_urlsafe(16)


class SsoConnection(models.Model):
    """The Entra app registration a company's provisioned users sign in through.

    One per Microsoft Entra ID integration. The client secret is stored encrypted
    (sso/crypto.py, a key from the environment) and never shown again; `client_secret_hint`
    is its first characters, as the Entra admin center shows them, so an admin can tell which
    secret is in use.
    """

    integration = models.OneToOneField(
        Integration, on_delete=models.CASCADE, related_name="sso_connection"
    )
    tenant_id = models.CharField("directory (tenant) ID", max_length=36)
    client_id = models.CharField("application (client) ID", max_length=36)
    client_secret_encrypted = models.TextField(editable=False)
    client_secret_hint = models.CharField(max_length=8, editable=False)
    is_enabled = models.BooleanField("single sign-on on", default=False)
    # Learners of the company may then sign in with Microsoft only; admins keep their password
    # so that a broken Entra app registration never locks the company out of QA Portal.
    require_sso = models.BooleanField("require single sign-on for learners", default=False)
    # The company's own sign-in link (/sso/c/<sign_in_id>/): it signs in through this connection
    # only, whatever other companies provision, so no one else's data can steer or block it.
    sign_in_id = models.SlugField(
        "sign-in link id", max_length=32, unique=True, default=sign_in_id_new, editable=False
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = "SSO connection"

    def __str__(self) -> str:
        return f"{self.integration.company} · tenant {self.tenant_id}"

    @property
    def company(self) -> Company:
        return self.integration.company


class VerifiedDomain(models.Model):
    """An email domain QA staff verified as the company's (e.g. by a DNS TXT record).

    Sign-in finds the company of `someone@contoso.com` from here without looking at any
    account, so "Sign in with Microsoft" tells nothing about which accounts exist.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    domain = models.CharField(max_length=253)
    verified_at = models.DateTimeField(default=timezone.now)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        constraints = [
            # A domain belongs to one company, whatever its case.
            models.UniqueConstraint(
                Lower("domain"),
                name="sso_verifieddomain_domain_ci_uniq",
                violation_error_message="This domain is already verified for a company.",
            ),
        ]

    def __str__(self) -> str:
        return self.domain

    def clean(self) -> None:
        # Before the constraints are validated, so "Contoso.COM." is found to be taken.
        self.domain = self.domain.strip().lower().rstrip(".")
        labels = self.domain.split(".")
        if len(labels) < 2 or not all(labels) or "@" in self.domain or " " in self.domain:
            raise ValidationError({"domain": "Enter a domain like contoso.com."})
