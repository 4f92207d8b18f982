"""Companies (tenants), their people and their teams.

Two kinds of people share the User table:
- company admins and staff sign in with email + password; `email` is their sign-in identity
  and is unique across QA;
- learners are provisioned by SCIM and identified by (company, `user_name`), compared
  case-insensitively; they carry no sign-in email and no usable password.
"""

import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class Company(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

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
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

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
    updated_at = models.DateTimeField(auto_now=True)
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
