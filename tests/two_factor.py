"""Two-factor helpers for tests: codes an authenticator app would show, computed from the
device's key exactly as the app does (RFC 6238), and enrolment through the real services."""

import time

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from qaportal.accounts.mixins import SECOND_FACTOR_AT_SESSION_KEY
from qaportal.accounts.models import User
from qaportal.accounts.services.two_factor import (
    TwoFactorEnabled,
    two_factor_enrolment_confirm,
    two_factor_enrolment_start,
)


def totp_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the app shows now, or `steps_ahead` 30-second steps later.

    A code is accepted once (django-otp remembers the last step used), and the device allows
    one step of drift: a test that needs a second code takes the next step's.
    """
    # As the app computes it: from the key and the clock only (no server-side drift).
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, 0)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def totp_next_unused_code(device: TOTPDevice) -> str:
    """The code of the step after the last one the device accepted: unused, and inside the
    tolerance whatever drift the device learnt (a code accepted across a step boundary teaches
    it a drift, and "now + 1 step" can then fall outside it)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, 0)
    totp.time = device.t0 + (device.last_t + 1) * device.step
    return f"{totp.token():0{device.digits}d}"


def two_factor_enable(user: User) -> TwoFactorEnabled:
    """Turn two-factor on for `user` as the set-up page does; returns the device and codes.

    Set up with the previous step's code, so that the code shown now is still unused.
    """
    device = two_factor_enrolment_start(user=user)
    enabled = two_factor_enrolment_confirm(
        user=user, device_id=device.pk, code=totp_code(device, steps_ahead=-1)
    )
    user.refresh_from_db()
    return enabled


def force_login_with_second_factor(client, user: User, device: TOTPDevice) -> None:
    """Sign `client` in as `user` with the second factor passed, as the code page leaves it."""
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[SECOND_FACTOR_AT_SESSION_KEY] = time.time()
    session.save()
