"""Companies (tenants), their people and their teams.

Two kinds of people share the User table:
- company admins and staff sign in with email + password; `email` is their sign-in identity
  and is unique across QA;
- learners are provisioned by SCIM and identified by (company, `user_name`), compared
  case-insensitively; they carry no sign-in email and no usable password.

Company admins are invited by another admin of their company (AdminInvitation) and may add a
second factor (django-otp's TOTP device plus RecoveryCodeDevice); what happens to admin
accounts is kept in AccountAuditEvent.
"""

import hashlib
import hmac
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Lower, NullIf, Upper
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin, TimestampMixin


class LastModifiedField(models.DateTimeField):
    """`updated_at`: set on every save like auto_now, except that a new row gets exactly its
    `created_at`, so SCIM's meta.created equals meta.lastModified until the first change.

    It is the column a user's optimistic concurrency compares and what meta.version is built
    from. The database column is a plain timestamp: deconstruct() names DateTimeField, so no
    migration is needed for this Python-side behaviour.
    """

    def __init__(self, *args, **kwargs):
        kwargs["auto_now"] = True
        super().__init__(*args, **kwargs)

    def pre_save(self, model_instance, add):
        created_at = getattr(model_instance, "created_at", None)
        if add and created_at is not None:
            setattr(model_instance, self.attname, created_at)
            return created_at
        return super().pre_save(model_instance, add)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DateTimeField", args, kwargs


class Company(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Admins without a second factor are sent to set one up before any other page.
    require_two_factor = models.BooleanField("require two-factor for admins", default=False)

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> "User":
        # Sign-in emails are stored lower-cased; accept any case at the sign-in form.
        return self.get(email=self.normalize_sign_in_email(username or ""))

    @staticmethod
    def normalize_sign_in_email(email: str) -> str:
        return email.strip().lower()

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("A sign-in email is required.")
        user = self.model(email=self.normalize_sign_in_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True, role=User.Role.STAFF)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        ADMIN = "admin", "Company admin"
        LEARNER = "learner", "Learner"
        STAFF = "staff", "QA staff"

    # Sign-in identity of admins and staff; NULL for learners (their emails are SCIM data).
    email = models.EmailField("sign-in email", unique=True, null=True, blank=True)
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.LEARNER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    # Whether the user has a confirmed second factor. Written only by the two-factor services,
    # in the transaction that adds or removes the device, so that the check on every request
    # (accounts/middleware.py) costs no device query.
    has_two_factor = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = LastModifiedField()

    # --- SCIM attributes, stored as Microsoft Entra ID sent them ---
    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # NULL (not "") for admins and staff, so the per-company unique index skips them.
    user_name = models.CharField(  # noqa: DJ001
        "SCIM userName", max_length=256, null=True, blank=True
    )
    external_id = models.CharField(max_length=256, blank=True, default="")
    given_name = models.CharField(max_length=256, blank=True, default="")
    family_name = models.CharField(max_length=256, blank=True, default="")
    formatted_name = models.CharField(max_length=512, blank=True, default="")
    display_name = models.CharField(max_length=512, blank=True, default="")
    nick_name = models.CharField(max_length=256, blank=True, default="")
    title = models.CharField(max_length=256, blank=True, default="")
    emails = models.JSONField(default=list, blank=True)
    phone_numbers = models.JSONField(default=list, blank=True)
    addresses = models.JSONField(default=list, blank=True)
    # Copy of emails[type eq "work"].value, so Entra's email matching filter is index-backed.
    work_email = models.CharField(max_length=320, blank=True, default="")
    employee_number = models.CharField(max_length=256, blank=True, default="")
    department = models.CharField(max_length=256, blank=True, default="")
    manager = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            # Not partial (NULL user_names never conflict anyway): PostgreSQL keeps statistics
            # on the expressions of non-partial indexes only, and without them the planner
            # walks the primary key instead of this index (12x slower at 100,000 users).
            models.UniqueConstraint(
                "company",
                Lower("user_name"),
                name="accounts_user_company_user_name_ci_uniq",
                violation_error_message="This userName is already taken in this company.",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "external_id"], name="accounts_user_company_extid"),
            models.Index("company", Lower("work_email"), name="accounts_user_company_email"),
            models.Index(fields=["company", "role", "id"], name="accounts_user_company_role"),
            # The few deactivated people: counted from this small index, so the People page's
            # status filter knows its total without reading every person's row.
            models.Index(
                fields=["company", "role"],
                condition=models.Q(is_active=False),
                name="accounts_user_deactivated",
            ),
            # The orders of SCIM's sortBy (scim/sorting.py holds the same expressions): an
            # unassigned value is NULL, so it sorts last ascending and first descending.
            # INCLUDE the column an expression is computed from, so a page's ids are an
            # index-only scan (the last page of 100,000 users: 94 -> 41 ms).
            models.Index(
                "company",
                "role",
                Lower(NullIf("display_name", models.Value(""))),
                "id",
                name="accounts_user_sort_display",
                include=["display_name"],
            ),
            models.Index(
                "company",
                "role",
                NullIf("external_id", models.Value("")),
                "id",
                name="accounts_user_sort_extid",
                include=["external_id"],
            ),
            models.Index(
                fields=["company", "role", "created_at", "id"], name="accounts_user_sort_created"
            ),
            # Every write changes updated_at, so with this index no UPDATE of a user is a HOT
            # update any more (each one also writes every index): the price of sorting by
            # meta.lastModified without a sort of the company's rows.
            models.Index(
                fields=["company", "role", "updated_at", "id"], name="accounts_user_sort_modified"
            ),
            # The People search: any part of these, any case. Trigram indexes of UPPER(column),
            # the expression Django's icontains compares; PostgreSQL only (accounts.0007).
            *(
                GinIndex(
                    OpClass(Upper(column), name="gin_trgm_ops"), name=f"accounts_user_{short}_trgm"
                )
                for column, short in (
                    ("display_name", "dname"),
                    ("user_name", "uname"),
                    ("work_email", "email"),
                )
            ),
        ]

    def __str__(self) -> str:
        return self.email or self.user_name or f"user {self.pk}"

    @property
    def is_company_admin(self) -> bool:
        return self.role == self.Role.ADMIN and self.company_id is not None

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.given_name, self.family_name) if part)


class Group(models.Model):
    """A company's team; Microsoft Entra ID provisions these as SCIM Groups."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="teams")
    scim_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    display_name = models.CharField(max_length=256)
    external_id = models.CharField(max_length=256, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = LastModifiedField()
    members = models.ManyToManyField(User, through="GroupMembership", related_name="teams")

    class Meta:
        verbose_name = "team"
        constraints = [
            models.UniqueConstraint(
                "company",
                Lower("display_name"),
                name="accounts_group_company_display_name_ci_uniq",
                violation_error_message="A team with this name already exists in this company.",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "external_id"], name="accounts_group_company_extid"),
            # SCIM's sortBy (scim/sorting.py); displayName is served by the unique index.
            models.Index(
                "company",
                NullIf("external_id", models.Value("")),
                "id",
                name="accounts_group_sort_extid",
                include=["external_id"],
            ),
            models.Index(
                fields=["company", "created_at", "id"], name="accounts_group_sort_created"
            ),
            models.Index(
                fields=["company", "updated_at", "id"], name="accounts_group_sort_modified"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class GroupMembership(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint("group", "user", name="accounts_membership_group_user_uniq"),
        ]
        indexes = [models.Index(fields=["user"], name="accounts_membership_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.group}"


class CompanyUserCount(models.Model):
    """How many users of each role a company has, kept by database triggers (accounts.0004).

    A SCIM list page must say how many users there are; COUNT(*) over 100,000 learners costs
    more than the page itself. Triggers on accounts_user keep these rows right for every write,
    bulk loads and deletions by cascade included, so no code path can forget them. On
    PostgreSQL a company's count is spread over a few `shard` rows, so that concurrent creates
    do not queue on one row lock; the count is their sum.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=16)
    shard = models.PositiveSmallIntegerField(default=0)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # Also the conflict target of the triggers' upserts.
            models.UniqueConstraint(
                fields=["company", "role", "shard"],
                name="accounts_usercount_company_role_shard_uniq",
            )
        ]

    def __str__(self) -> str:
        return f"{self.company_id} {self.role} #{self.shard}: {self.count}"


class AdminInvitation(models.Model):
    """An invitation to become an admin of a company, answered through a single-use link.

    The link's secret is made by the worker that emails it and never stored: the row keeps its
    SHA-256 digest in `token_hash`, which is empty while a (new) link is on its way. Each send
    bumps `send_count`; the worker issues the link of the send it was queued for only, so a
    re-send makes the previous link worthless at once and a late or repeated task issues
    nothing. At most one open (neither accepted nor revoked) invitation per company and email.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="admin_invitations")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, blank=True, default="")
    send_count = models.PositiveIntegerField(default=0)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When the current link was emailed; None while it is on its way.
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="accounts_invitation_open_company_email_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "-created_at"], name="accounts_invitation_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.company_id}"

    def status_at(self, now) -> str:
        """The invitation's status by the clock."""
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= now:
            return self.Status.EXPIRED
        return self.Status.PENDING


class AccountAuditEvent(models.Model):
    """Append-only record of what happened to a company's admin accounts, by whom and from where.

    The accounts side of the audit trail (API key events are integrations' AuditEvent; the
    Settings pages show both). `subject_email` names the admin or invitee the event is about,
    kept as text so the record outlives the account.
    """

    class Action(models.TextChoices):
        ADMIN_INVITED = "admin_invited", "Invited an admin"
        INVITATION_RESENT = "invitation_resent", "Re-sent an admin invitation"
        INVITATION_REVOKED = "invitation_revoked", "Revoked an admin invitation"
        INVITATION_ACCEPTED = "invitation_accepted", "Accepted an admin invitation"
        ADMIN_REMOVED = "admin_removed", "Removed an admin"
        PASSWORD_RESET = "password_reset", "Reset their password by email"
        TWO_FACTOR_ENABLED = "two_factor_enabled", "Turned on two-factor authentication"
        TWO_FACTOR_DISABLED = "two_factor_disabled", "Turned off two-factor authentication"
        RECOVERY_CODES_REGENERATED = "recovery_codes_regenerated", "Made new recovery codes"
        TWO_FACTOR_RESET = "two_factor_reset", "Two-factor authentication reset by QA support"
        TWO_FACTOR_REQUIRED = "two_factor_required", "Required two-factor for admins"
        TWO_FACTOR_NOT_REQUIRED = "two_factor_not_required", "Stopped requiring two-factor"
        SIGN_IN_GUESSING = "sign_in_guessing", "Many wrong passwords for an admin's account"

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="account_audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    subject_email = models.CharField(max_length=254, blank=True, default="")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["company", "-created_at"], name="accounts_audit_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.subject_email}"


def invitation_token_digest(token: str) -> str:
    """The stored form of an invitation link's secret (256 random bits: a fast digest is safe,
    as for API keys)."""
    return hashlib.sha256(token.encode()).hexdigest()


def recovery_code_digest(code: str) -> str:
    """The stored form of a recovery code: SHA-256 of the code without dashes, spaces or case.

    Codes carry 80 random bits, so a fast unsalted digest cannot be reversed by guessing.
    """
    normalized = "".join(code.split()).replace("-", "").lower()
    return hashlib.sha256(normalized.encode()).hexdigest()


class RecoveryCodeDevice(ThrottlingMixin, TimestampMixin, Device):
    """A user's single-use recovery codes, for when their authenticator app is not at hand.

    A django-otp device of our own rather than otp_static's, which stores its codes in clear:
    here only their SHA-256 digests are kept, compared in constant time, and a used code is
    removed. Wrong codes are throttled like TOTP codes (1, 2, 4... seconds).
    """

    code_hashes = models.JSONField(default=list)

    class Meta(Device.Meta):
        verbose_name = "recovery code set"

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    @property
    def remaining(self) -> int:
        return len(self.code_hashes)

    def verify_token(self, token: str) -> bool:
        """Accept an unused code once. Call it on a row loaded FOR UPDATE, in a transaction,
        so two requests cannot both use one code."""
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        digest = recovery_code_digest(str(token))
        # Compare with every stored digest, so the time taken says nothing about which matched.
        matches = [stored for stored in self.code_hashes if hmac.compare_digest(stored, digest)]
        if not matches:
            self.throttle_increment(commit=True)
            return False
        self.code_hashes = [stored for stored in self.code_hashes if stored != matches[0]]
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True
