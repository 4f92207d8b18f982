"""Write-side of single sign-on: a company's connection, and the sign-in activity log."""

import copy

from django.db import transaction
from django.utils import timezone

from integrations.models import AuditEvent, Integration, ProvisioningEvent
from integrations.services import provisioning_event_record
from qaportal.accounts.models import Company, User

from .crypto import secret_encrypt, secret_reencrypt
from .exceptions import RefusalReason
from .models import SsoConnection

SIGN_IN_OPERATION = ProvisioningEvent.Operation.SSO_SIGN_IN
SECRET_HINT_LENGTH = 3  # what the Entra admin center shows of a client secret's value


class SsoNotConfigured(Exception):
    """Single sign-on cannot be switched on before the tenant, client and secret are set."""


def _changes(before: SsoConnection | None, after: SsoConnection, new_secret: bool) -> list[str]:
    """What a save changed, in words for the audit trail (never the secret itself)."""
    changes = []
    if before is None or before.is_enabled != after.is_enabled:
        changes.append("Turned single sign-on " + ("on" if after.is_enabled else "off"))
    was_required = before.require_sso if before is not None else False
    if was_required != after.require_sso:
        verb = "Required" if after.require_sso else "Stopped requiring"
        changes.append(f"{verb} single sign-on for people")
    if before is None or before.tenant_id != after.tenant_id:
        changes.append(f"Directory (tenant) ID {after.tenant_id}")
    if before is None or before.client_id != after.client_id:
        changes.append(f"Application (client) ID {after.client_id}")
    if new_secret:
        changes.append(f"New client secret {after.client_secret_hint}…")
    return changes


@transaction.atomic
def sso_connection_save(
    *,
    integration: Integration,
    tenant_id: str,
    client_id: str,
    client_secret: str,
    is_enabled: bool,
    require_sso: bool,
    updated_by: User,
    ip_address: str | None = None,
) -> SsoConnection:
    """Create or update the integration's connection, with its audit event.

    A blank secret keeps the stored one; a save that changes nothing writes nothing.
    """
    connection = SsoConnection.objects.select_for_update().filter(
        integration=integration
    ).first() or SsoConnection(integration=integration)
    before = copy.copy(connection) if connection.pk else None
    if client_secret:
        connection.client_secret_encrypted = secret_encrypt(client_secret)
        connection.client_secret_hint = client_secret[:SECRET_HINT_LENGTH]
    if is_enabled and not connection.client_secret_encrypted:
        raise SsoNotConfigured
    connection.tenant_id = tenant_id.strip().lower()
    connection.client_id = client_id.strip().lower()
    connection.is_enabled = is_enabled
    connection.require_sso = require_sso and is_enabled
    changes = _changes(before, connection, new_secret=bool(client_secret))
    if not changes:
        return connection
    connection.updated_by = updated_by
    connection.updated_at = timezone.now()
    connection.save()
    AuditEvent.objects.create(
        company=integration.company,
        actor=updated_by,
        action=AuditEvent.Action.SSO_UPDATED,
        ip_address=ip_address,
        detail={"changes": changes},
    )
    return connection


def sign_in_event_record(
    *,
    company: Company,
    path: str,
    user: User | None,
    claims: dict,
    reason: RefusalReason | None,
) -> ProvisioningEvent:
    """One Microsoft sign-in in the company's activity log, signed in or refused (and why).

    Names the person by their QA userName when known, else by what Microsoft said
    (preferred_username); never stores a token, a code or the secret.
    """
    name = (user.user_name if user else "") or str(claims.get("preferred_username") or "")
    return provisioning_event_record(
        company_id=company.pk,
        api_key_id=None,
        method="GET",
        path=path,
        operation=SIGN_IN_OPERATION,
        status_code=302 if reason is None else 403,
        outcome=(
            ProvisioningEvent.Outcome.SUCCESS
            if reason is None
            else ProvisioningEvent.Outcome.FAILED
        ),
        resource_type="User",
        resource_id=str(user.scim_id) if user else "",
        resource_name=name,
        scim_type="" if reason is None else reason.code,
        detail="" if reason is None else reason.admin_text,
    )


@transaction.atomic
def sso_secrets_reencrypt() -> int:
    """Every stored client secret under the newest key; all or nothing."""
    connections = list(
        SsoConnection.objects.select_for_update().exclude(client_secret_encrypted="")
    )
    for connection in connections:
        connection.client_secret_encrypted = secret_reencrypt(connection.client_secret_encrypted)
    SsoConnection.objects.bulk_update(connections, ["client_secret_encrypted"])
    return len(connections)
