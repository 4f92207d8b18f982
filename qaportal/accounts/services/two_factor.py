"""Two-factor authentication of admins and staff: a TOTP authenticator app (django-otp's
TOTPDevice) and single-use recovery codes (RecoveryCodeDevice). Atomic and audited.

`User.has_two_factor` is written here only, in the transaction that confirms or deletes the
devices, so it always says whether the user has a confirmed authenticator.
"""

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..exceptions import CodeThrottled, InvalidCode, TwoFactorAlreadyEnabled
from ..models import AccountAuditEvent, Company, RecoveryCodeDevice, User, recovery_code_digest
from .audit import account_audit_record

AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_CODES_NAME = "Recovery codes"
# What an authenticator app shows: six digits (spaces are dropped before the check).
_TOTP_CODE = re.compile(r"^\d{6}$")


def recovery_codes_new(count: int) -> list[str]:
    """`count` codes of 16 base32 characters (80 random bits) as xxxx-xxxx-xxxx-xxxx."""
    codes = []
    for _ in range(count):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
        codes.append("-".join(raw[index : index + 4] for index in range(0, 16, 4)))
    return codes


def two_factor_devices_delete(*, user: User) -> None:
    """Delete every device of `user`, confirmed or not. Part of a caller's transaction."""
    TOTPDevice.objects.filter(user=user).delete()
    RecoveryCodeDevice.objects.filter(user=user).delete()


@transaction.atomic
def two_factor_enrolment_start(*, user: User) -> TOTPDevice:
    """A new, unconfirmed authenticator for `user` (any earlier unconfirmed one is dropped).

    It does nothing until two_factor_enrolment_confirm accepts a code from it. Raises
    TwoFactorAlreadyEnabled if the user has a confirmed authenticator.
    """
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise TwoFactorAlreadyEnabled()
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


@dataclass(frozen=True)
class RecoveryCodes:
    """Codes to show once, in the response that made them."""

    device: RecoveryCodeDevice
    codes: list[str]

    def __repr__(self) -> str:  # never let the codes reach a log or a traceback
        return f"RecoveryCodes(device={self.device.pk}, count={len(self.codes)})"


def _recovery_codes_replace(*, user: User) -> RecoveryCodes:
    codes = recovery_codes_new(settings.QA_RECOVERY_CODE_COUNT)
    RecoveryCodeDevice.objects.filter(user=user).delete()
    device = RecoveryCodeDevice.objects.create(
        user=user,
        name=RECOVERY_CODES_NAME,
        confirmed=True,
        code_hashes=[recovery_code_digest(code) for code in codes],
    )
    return RecoveryCodes(device=device, codes=codes)


@dataclass(frozen=True)
class TwoFactorEnabled:
    authenticator: TOTPDevice
    recovery: RecoveryCodes


@sensitive_variables("code")
def two_factor_enrolment_confirm(
    *,
    user: User,
    device_id: int,
    code: str,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> TwoFactorEnabled:
    """Turn on two-factor with the unconfirmed authenticator `device_id` of `user`, once it
    gives a valid code; returns it and QA_RECOVERY_CODE_COUNT new recovery codes, to show once.

    Raises InvalidCode for a wrong code or a device that is not the user's unconfirmed one,
    CodeThrottled after repeated wrong codes, TwoFactorAlreadyEnabled if another
    authenticator was confirmed meanwhile. Atomic; a wrong code's failure count is kept.
    Writes an AccountAuditEvent (company admins).
    """
    now = now or timezone.now()
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(pk=device_id, user=user, confirmed=False)
            .first()
        )
        if device is None:
            raise InvalidCode()
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            raise TwoFactorAlreadyEnabled()
        error = _check(device, "".join(str(code).split()))
        if error is None:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            recovery = _recovery_codes_replace(user=user)
            user.has_two_factor = True
            user.save(update_fields=["has_two_factor", "updated_at"])
            account_audit_record(
                company_id=user.company_id,
                action=AccountAuditEvent.Action.TWO_FACTOR_ENABLED,
                actor=user,
                subject_email=user.email or "",
                ip_address=ip_address,
                now=now,
            )
    if error is not None:
        raise error
    return TwoFactorEnabled(authenticator=device, recovery=recovery)


def _check(device: TOTPDevice | RecoveryCodeDevice, code: str) -> Exception | None:
    """The error of a code, or None if the device accepted it.

    Returned, not raised: the caller raises it after its transaction commits, or the failure
    count that throttles the next code would be rolled back with it.
    """
    allowed, info = device.verify_is_allowed()
    if not allowed:
        locked_until = (info or {}).get("locked_until")
        wait = (locked_until - timezone.now()).total_seconds() if locked_until else 1
        return CodeThrottled(retry_after=max(1, int(wait + 0.999)))
    if not device.verify_token(code):
        return InvalidCode()
    return None


@dataclass(frozen=True)
class VerifiedCode:
    """The device that accepted a code; for a recovery code, how many are left."""

    device: TOTPDevice | RecoveryCodeDevice

    @property
    def is_recovery_code(self) -> bool:
        return isinstance(self.device, RecoveryCodeDevice)

    @property
    def recovery_codes_left(self) -> int | None:
        return self.device.remaining if self.is_recovery_code else None


@sensitive_variables("code", "cleaned")
def second_factor_verify(*, user: User, code: str) -> VerifiedCode:
    """Check a code of `user`'s confirmed authenticator (six digits) or one of their unused
    recovery codes (anything else), which is then used up.

    The device row is locked, so a code is accepted once even by concurrent requests, and a
    TOTP code is not accepted twice (django-otp keeps the last time step used). Each device
    throttles its wrong codes: 1, 2, 4, 8... seconds (OTP_TOTP_THROTTLE_FACTOR), and the
    failure is committed before InvalidCode or CodeThrottled(retry_after) is raised.
    """
    cleaned = "".join(str(code).split())
    model = TOTPDevice if _TOTP_CODE.match(cleaned) else RecoveryCodeDevice
    with transaction.atomic():
        device = model.objects.select_for_update().filter(user=user, confirmed=True).first()
        error = InvalidCode() if device is None else _check(device, cleaned)
    if error is not None:
        raise error
    return VerifiedCode(device=device)


@transaction.atomic
def two_factor_disable(
    *,
    user: User,
    ip_address: str | None = None,
    now: datetime | None = None,
    by_staff: User | None = None,
) -> None:
    """Turn off two-factor: delete the authenticator and recovery codes of `user`.

    The caller checks the password and a current code first (the user's own request), or is
    QA support (`by_staff`, from Django admin, for someone who lost both). If their company
    requires two-factor, the user is asked to set it up again at their next page. Writes an
    AccountAuditEvent (company admins).
    """
    now = now or timezone.now()
    two_factor_devices_delete(user=user)
    user.has_two_factor = False
    user.save(update_fields=["has_two_factor", "updated_at"])
    account_audit_record(
        company_id=user.company_id,
        action=(
            AccountAuditEvent.Action.TWO_FACTOR_RESET
            if by_staff is not None
            else AccountAuditEvent.Action.TWO_FACTOR_DISABLED
        ),
        actor=by_staff or user,
        subject_email=user.email or "",
        ip_address=ip_address,
        now=now,
    )


@transaction.atomic
def recovery_codes_regenerate(
    *, user: User, ip_address: str | None = None, now: datetime | None = None
) -> RecoveryCodes:
    """Replace `user`'s recovery codes with new ones (the old ones stop working); to show once.

    The caller checks the password and a current code first. Writes an AccountAuditEvent.
    """
    now = now or timezone.now()
    recovery = _recovery_codes_replace(user=user)
    account_audit_record(
        company_id=user.company_id,
        action=AccountAuditEvent.Action.RECOVERY_CODES_REGENERATED,
        actor=user,
        subject_email=user.email or "",
        ip_address=ip_address,
        now=now,
    )
    return recovery


@transaction.atomic
def company_two_factor_requirement_set(
    *,
    company: Company,
    required: bool,
    changed_by: User,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> Company:
    """Require two-factor of the company's admins, or stop requiring it. Admins without it
    are sent to set it up at their next page. Idempotent: no change writes no audit row."""
    now = now or timezone.now()
    company = Company.objects.select_for_update().get(pk=company.pk)
    if company.require_two_factor == required:
        return company
    company.require_two_factor = required
    company.save(update_fields=["require_two_factor"])
    account_audit_record(
        company_id=company.pk,
        action=(
            AccountAuditEvent.Action.TWO_FACTOR_REQUIRED
            if required
            else AccountAuditEvent.Action.TWO_FACTOR_NOT_REQUIRED
        ),
        actor=changed_by,
        ip_address=ip_address,
        now=now,
    )
    return company
