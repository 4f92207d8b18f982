"""Integrations of a company with an identity provider, their API keys and their logs."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F
from django.db.models.functions import Upper
from django.utils import timezone

from qaportal.accounts.models import Company

# Operations whose change set may list team members added or removed, by SCIM id.
MEMBER_OPERATIONS = (
    "create_group",
    "update_group",
    "replace_group",
    "add_members",
    "remove_members",
    "update_members",
    "replace_members",
)


class Integration(models.Model):
    class Provider(models.TextChoices):
        ENTRA_ID = "entra-id", "Microsoft Entra ID"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="integrations")
    provider = models.CharField(max_length=32, choices=Provider.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "company", "provider", name="integrations_integration_company_provider_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} for {self.company}"


class ApiKey(models.Model):
    """A SCIM bearer key. Only its SHA-256 digest, public id and last 4 characters are stored."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRING = "expiring", "Expiring"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="api_keys")
    public_id = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    last4 = models.CharField(max_length=4)
    # The state last recorded by a service or the expiry task; authentication never trusts
    # it alone and checks revoked_at/expires_at against the clock.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    # When the admins were emailed about this key (integrations/notifications.py). Each is
    # claimed by a conditional UPDATE, so a task or sweep that runs twice sends one email.
    grace_notice_sent_at = models.DateTimeField(null=True, blank=True)
    final_notice_sent_at = models.DateTimeField(null=True, blank=True)
    # The last "Entra still uses this revoked/expired key" email: at most one per key per day.
    rejected_use_notified_at = models.DateTimeField(null=True, blank=True)
    # The rejected_use_notified_at whose email the task has sent: the claim is made before the
    # task is queued, so the task claims the sending too, and a redelivered task sends nothing.
    rejected_use_notice_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        indexes = [
            models.Index(fields=["integration", "-created_at"], name="integrations_apikey_recent"),
            models.Index(
                fields=["expires_at"],
                name="integrations_apikey_due",
                condition=models.Q(status="expiring"),
            ),
        ]

    def __str__(self) -> str:
        return self.masked

    @property
    def prefix(self) -> str:
        return f"qa_scim_{self.public_id}"

    @property
    def masked(self) -> str:
        return f"{self.prefix}…{self.last4}"

    def status_at(self, now) -> str:
        """The key's status by the clock, whatever the expiry task has recorded so far."""
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at is not None:
            return self.Status.EXPIRED if self.expires_at <= now else self.Status.EXPIRING
        return self.Status.ACTIVE


class AuditEvent(models.Model):
    """Append-only record of who did what to a company's keys, and from where."""

    class Action(models.TextChoices):
        KEY_GENERATED = "key_generated", "Generated API key"
        KEY_REVOKED = "key_revoked", "Revoked API key"
        KEY_EXPIRED = "key_expired", "API key expired"
        # Written by sso/ when the Single sign-on section (or staff, in Django admin) changes.
        SSO_UPDATED = "sso_updated", "Changed single sign-on"
        # CSV exports (integrations/exports/): who asked for which data, and who downloaded it.
        EXPORT_REQUESTED = "export_requested", "Requested a CSV export"
        EXPORT_DOWNLOADED = "export_downloaded", "Downloaded a CSV export"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_events"
    )
    key_prefix = models.CharField(max_length=32, blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["company", "-created_at"], name="integrations_audit_recent")
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.key_prefix}"


class ProvisioningEvent(models.Model):
    """One SCIM request as it arrived and was answered. Never holds a key or a header.

    A change's attributes (old and new values) and membership changes are stored as data in
    `changes` (integrations/changes.py), never as text to be parsed back.
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failed"
        REJECTED_KEY = "rejected_key", "Rejected key"

    class Operation(models.TextChoices):
        """What a request did or tried to do; the label is the activity filter's option."""

        CREATE_USER = "create_user", "Create person"
        UPDATE_USER = "update_user", "Update person"
        REPLACE_USER = "replace_user", "Replace person"
        DEACTIVATE_USER = "deactivate_user", "Deactivate person"
        REACTIVATE_USER = "reactivate_user", "Reactivate person"
        DELETE_USER = "delete_user", "Delete person"
        GET_USER = "get_user", "Read person"
        FILTER_USERS = "filter_users", "Look up person"
        LIST_USERS = "list_users", "List people"
        # Written by sso/ (Sign in with Microsoft), not by SCIM.
        SSO_SIGN_IN = "sso_sign_in", "Microsoft sign-in"
        CREATE_GROUP = "create_group", "Create team"
        UPDATE_GROUP = "update_group", "Update team"
        REPLACE_GROUP = "replace_group", "Replace team"
        DELETE_GROUP = "delete_group", "Delete team"
        ADD_MEMBERS = "add_members", "Add members"
        REMOVE_MEMBERS = "remove_members", "Remove members"
        UPDATE_MEMBERS = "update_members", "Change members"
        REPLACE_MEMBERS = "replace_members", "Replace members"
        GET_GROUP = "get_group", "Read team"
        FILTER_GROUPS = "filter_groups", "Look up team"
        LIST_GROUPS = "list_groups", "List teams"
        GET_SERVICE_PROVIDER_CONFIG = "get_service_provider_config", "Read configuration"
        GET_SCHEMAS = "get_schemas", "Read schemas"
        GET_RESOURCE_TYPES = "get_resource_types", "Read resource types"
        SEARCH = "search", "Search people and teams"
        UNSUPPORTED_ENDPOINT = "unsupported_endpoint", "Unsupported endpoint"

    # An append-only log written on every SCIM request: its references carry no database
    # constraint (each would lock the company or key row FOR KEY SHARE on every insert, and
    # concurrent requests of one company would contend on that row). Django still cascades a
    # company's deletion to its rows and clears a deleted key's references. The composite
    # indexes below all start with the company, so the company needs no index of its own.
    company = models.ForeignKey(
        Company,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    api_key = models.ForeignKey(
        ApiKey,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=512)
    operation = models.CharField(max_length=32, blank=True, default="", choices=Operation.choices)
    resource_type = models.CharField(max_length=16, blank=True, default="")
    resource_id = models.CharField(max_length=64, blank=True, default="")
    resource_name = models.CharField(max_length=256, blank=True, default="")
    status_code = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    scim_type = models.CharField(max_length=32, blank=True, default="")
    # A failure's error detail as the client was told it; empty for a success.
    detail = models.CharField(max_length=1024, blank=True, default="")
    # What a successful change did (integrations.changes.ChangeRecord.as_json); {} otherwise.
    # The database default too, so rows written by SQL of their own (bulk loads) are valid.
    changes = models.JSONField(
        default=dict, blank=True, db_default=models.Value({}, output_field=models.JSONField())
    )
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["company", "-created_at", "-id"], name="integrations_prov_recent"),
            models.Index(
                fields=["company", "outcome", "-created_at", "-id"],
                name="integrations_prov_outcome",
            ),
            # The activity page's operation filter and its search (a userName or displayName,
            # any case), newest first, without scanning the company's whole log.
            models.Index(
                fields=["company", "operation", "-created_at", "-id"],
                name="integrations_prov_operation",
            ),
            models.Index(
                F("company"),
                Upper("resource_name"),
                F("created_at").desc(),
                F("id").desc(),
                name="integrations_prov_name",
            ),
            # A person's History: the requests about them by their SCIM id, newest first.
            models.Index(
                fields=["company", "resource_id", "-created_at", "-id"],
                name="integrations_prov_resource",
            ),
            # The activity search: any part of a userName or displayName, any case (icontains
            # compares UPPER(resource_name)); PostgreSQL only (integrations.0010).
            GinIndex(
                OpClass(Upper("resource_name"), name="gin_trgm_ops"),
                name="integrations_prov_name_trgm",
            ),
            # ... and the team membership changes that name them (changes @> {...ids: [id]}),
            # PostgreSQL only (integrations.0010); SQLite matches the JSON text instead.
            GinIndex(
                fields=["changes"],
                opclasses=["jsonb_path_ops"],
                condition=models.Q(operation__in=MEMBER_OPERATIONS),
                name="integrations_prov_members",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status_code}"


Operation = ProvisioningEvent.Operation

# Successful requests of these operations changed the directory (the Dashboard counts them).
CHANGE_OPERATIONS = frozenset(
    {
        Operation.CREATE_USER,
        Operation.UPDATE_USER,
        Operation.REPLACE_USER,
        Operation.DEACTIVATE_USER,
        Operation.REACTIVATE_USER,
        Operation.DELETE_USER,
        Operation.CREATE_GROUP,
        Operation.UPDATE_GROUP,
        Operation.REPLACE_GROUP,
        Operation.DELETE_GROUP,
        Operation.ADD_MEMBERS,
        Operation.REMOVE_MEMBERS,
        Operation.UPDATE_MEMBERS,
        Operation.REPLACE_MEMBERS,
    }
)
# Rows that are not requests of Entra's provisioning (people signing in): connection health
# and the Dashboard's failure counts leave them out.
NON_SCIM_OPERATIONS = frozenset({Operation.SSO_SIGN_IN})


class ExportJob(models.Model):
    """A CSV export written to private storage by a Celery worker (integrations/exports/).

    Exports too large for one web request are prepared here: the job records what was asked
    (`kind` of the export registry and its `params`, e.g. the activity filter), its progress,
    and the file once written. File and row are deleted at `expires_at`.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Being prepared"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    # Written as rows are written: a run whose heartbeat stops (a killed worker) is run again.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Each run claims the job with attempts + 1 and writes only while it still holds that
    # number, so a run that was given up on cannot overwrite a newer one.
    attempts = models.PositiveSmallIntegerField(default=0)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    rows_written = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=255, blank=True, default="")
    file_size = models.PositiveBigIntegerField(default=0)
    expires_at = models.DateTimeField()
    error = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        verbose_name = "export job"
        indexes = [
            models.Index(fields=["company", "-requested_at"], name="integrations_export_recent"),
            models.Index(fields=["expires_at"], name="integrations_export_expiry"),
            models.Index(
                fields=["status", "heartbeat_at"],
                name="integrations_export_pending",
                condition=models.Q(status__in=["queued", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} export {self.pk} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    def is_downloadable_at(self, now) -> bool:
        return self.status == self.Status.DONE and bool(self.file_name) and now < self.expires_at
