"""Emails to a company's admins about its API keys, so a missed key deadline is seen in QA Portal.

Three notices, each sent to every active admin of the key's company:
- *grace started*: a newer key was generated and this one stops working at its deadline;
- *expiring soon*: the deadline is less than QA_KEY_FINAL_NOTICE_BEFORE away;
- *rejected use*: Entra still sends this revoked or expired key (at most once per key per
  QA_KEY_REJECTED_USE_NOTICE_INTERVAL).

Each notice is claimed by a conditional UPDATE of its timestamp on the key before the mail is
sent, so a task and the beat sweep that race, or a task that runs twice, send it once; a send
that fails gives the claim back so a retry (or the next sweep) sends it later. The rejected-use
notice is claimed twice: when the refused request queues its task (rejected_use_notified_at),
and by the task before it sends (rejected_use_notice_sent_at), since with CELERY_TASK_ACKS_LATE
a message can be delivered again. Each message goes to one admin, so a send that fails part way
is retried for every admin: delivery is at least once per admin on an SMTP error (and at most
once if the worker dies between claim and send). Emails name a key by its masked form
(prefix…last4, as the keys table shows it) and never contain the key.

A service module of the integrations app, split from services.py by sub-domain: its claims and
give-backs are single conditional UPDATEs, one function per notice.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Case, F, Q, Value, When
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timeuntil

from qaportal.accounts.selectors import company_admin_list
from qaportal.enqueue import task_enqueue

from .models import ApiKey

logger = logging.getLogger(__name__)

# What a failed delivery raises: smtplib's errors and socket-level OSErrors (timeouts, refused
# connections). Tasks retry on these; the sweep logs them and tries again a minute later.
MAIL_DELIVERY_ERRORS = (smtplib.SMTPException, OSError)


class KeyNotice:
    """The kinds of key email; each names its templates under templates/emails/."""

    GRACE_STARTED = "api_key_grace_started"
    EXPIRING_SOON = "api_key_expiring_soon"
    REJECTED_USE = "api_key_rejected_use"


@dataclass(frozen=True)
class KeyNoticeContext:
    """What the templates of a key email may show: never the key itself."""

    company_name: str
    integration_name: str
    key_masked: str
    status: str
    expires_at: datetime | None
    revoked_at: datetime | None
    time_left: str
    rejected_at: datetime | None
    integration_url: str


def _notice_recipients(*, api_key: ApiKey) -> list[str]:
    admins = company_admin_list(company=api_key.integration.company).filter(is_active=True)
    return [email for email in admins.values_list("email", flat=True) if email]


def _notice_send(*, notice: str, api_key: ApiKey, now: datetime) -> int:
    """Render one notice and send it to each admin separately; returns the number sent.

    Raises what the email backend raises (MAIL_DELIVERY_ERRORS for SMTP).
    """
    integration = api_key.integration
    path = reverse("integrations:integration_detail", kwargs={"provider": integration.provider})
    context = KeyNoticeContext(
        company_name=integration.company.name,
        integration_name=integration.get_provider_display(),
        key_masked=api_key.masked,
        status=api_key.status_at(now),
        expires_at=api_key.expires_at,
        revoked_at=api_key.revoked_at,
        # timeuntil joins number and unit with a no-break space; plain text reads better.
        time_left=timeuntil(api_key.expires_at, now).replace("\xa0", " ")
        if api_key.expires_at
        else "",
        rejected_at=api_key.rejected_use_notified_at,
        integration_url=f"{settings.QA_PORTAL_URL}{path}",
    )
    subject = " ".join(render_to_string(f"emails/{notice}_subject.txt", {"n": context}).split())
    body = render_to_string(f"emails/{notice}.txt", {"n": context})
    recipients = _notice_recipients(api_key=api_key)
    if not recipients:
        logger.warning("No admin to email about %s (%s).", api_key.prefix, notice)
        return 0
    # One message per admin: nobody learns the other admins' addresses, and one bounce does
    # not hide the notice from the rest.
    messages = [EmailMessage(subject=subject, body=body, to=[address]) for address in recipients]
    sent = get_connection().send_messages(messages) or 0
    logger.info(
        "Emailed %s admin(s) of company %s: %s for %s.",
        sent,
        integration.company_id,
        notice,
        api_key.prefix,
    )
    return sent


def _notifiable_key(api_key_id: int) -> ApiKey:
    return ApiKey.objects.select_related("integration__company").get(pk=api_key_id)


def api_key_grace_notice_send(*, api_key_id: int, now: datetime | None = None) -> bool:
    """Email the admins that a superseded key is in its grace period. Idempotent.

    Sends nothing (returns False) when the notice was already sent, or the key is revoked or
    past its deadline. When the deadline is already within QA_KEY_FINAL_NOTICE_BEFORE (a short
    grace period), this email also stands for the "expiring soon" one, which is then not sent.
    On a delivery error the claim is given back and the error is raised, so a retry sends it,
    again to any admin already emailed: at least once per admin when SMTP fails part way.
    """
    now = now or timezone.now()
    final_notice_from = now + settings.QA_KEY_FINAL_NOTICE_BEFORE
    claimed = ApiKey.objects.filter(
        pk=api_key_id,
        grace_notice_sent_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).update(
        grace_notice_sent_at=now,
        final_notice_sent_at=Case(
            When(
                final_notice_sent_at__isnull=True,
                expires_at__lte=final_notice_from,
                then=Value(now),
            ),
            default=F("final_notice_sent_at"),
        ),
    )
    if not claimed:
        return False
    try:
        _notice_send(notice=KeyNotice.GRACE_STARTED, api_key=_notifiable_key(api_key_id), now=now)
    except BaseException:
        ApiKey.objects.filter(pk=api_key_id, grace_notice_sent_at=now).update(
            grace_notice_sent_at=None
        )
        ApiKey.objects.filter(pk=api_key_id, final_notice_sent_at=now).update(
            final_notice_sent_at=None
        )
        raise
    return True


def api_key_final_notice_send(*, api_key_id: int, now: datetime | None = None) -> bool:
    """Email the admins that a key stops working within QA_KEY_FINAL_NOTICE_BEFORE. Idempotent.

    Sends nothing (returns False) when already sent, not yet due, past the deadline or revoked.
    On a delivery error the claim is given back and the error is raised, so a retry sends it
    (at least once per admin, as for the grace notice).
    """
    now = now or timezone.now()
    claimed = ApiKey.objects.filter(
        pk=api_key_id,
        final_notice_sent_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
        expires_at__lte=now + settings.QA_KEY_FINAL_NOTICE_BEFORE,
    ).update(final_notice_sent_at=now)
    if not claimed:
        return False
    try:
        _notice_send(notice=KeyNotice.EXPIRING_SOON, api_key=_notifiable_key(api_key_id), now=now)
    except BaseException:
        ApiKey.objects.filter(pk=api_key_id, final_notice_sent_at=now).update(
            final_notice_sent_at=None
        )
        raise
    return True


def api_key_notices_send_due(*, now: datetime | None = None) -> int:
    """Beat sweep: send the grace notices whose task was lost and the due "expiring soon" ones.

    Safe to run concurrently with itself and with the tasks (every send is claimed first).
    A delivery error is logged and the notice is left for the next run. Returns the number of
    notices sent. Served by the partial index on expiring keys' deadlines.
    """
    now = now or timezone.now()
    expiring = ApiKey.objects.filter(
        status=ApiKey.Status.EXPIRING, revoked_at__isnull=True, expires_at__gt=now
    )
    due_grace = list(
        expiring.filter(grace_notice_sent_at__isnull=True).values_list("pk", flat=True)
    )
    due_final = list(
        expiring.filter(
            final_notice_sent_at__isnull=True,
            expires_at__lte=now + settings.QA_KEY_FINAL_NOTICE_BEFORE,
        ).values_list("pk", flat=True)
    )
    sent = 0
    for send, key_ids in (
        (api_key_grace_notice_send, due_grace),
        (api_key_final_notice_send, due_final),
    ):
        for key_id in key_ids:
            try:
                sent += send(api_key_id=key_id, now=now)
            except MAIL_DELIVERY_ERRORS:
                logger.exception("Could not email the admins about API key %s.", key_id)
    return sent


def api_key_rejected_use_notify(*, api_key: ApiKey, now: datetime | None = None) -> bool:
    """Note that a request arrived with this revoked or expired key; email the admins once a day.

    Cheap enough for every refused SCIM request: no query while the last notice is recent
    (read from the key already loaded), otherwise one conditional UPDATE that claims the
    notice, then the email task is queued on commit. Returns True when a notice was claimed.
    If the broker is down the claim is given back, so the next refused request tries again.
    Keys that are still usable are ignored.
    """
    now = now or timezone.now()
    if api_key.status_at(now) not in (ApiKey.Status.REVOKED, ApiKey.Status.EXPIRED):
        return False
    previous = api_key.rejected_use_notified_at
    quiet_since = now - settings.QA_KEY_REJECTED_USE_NOTICE_INTERVAL
    if previous is not None and previous > quiet_since:
        return False
    claimed = ApiKey.objects.filter(
        Q(rejected_use_notified_at__isnull=True) | Q(rejected_use_notified_at__lte=quiet_since),
        pk=api_key.pk,
    ).update(rejected_use_notified_at=now)
    api_key.rejected_use_notified_at = now
    if not claimed:  # another request claimed it first
        return False
    key_id = api_key.pk

    def give_back_the_claim() -> None:
        # The next refused request claims and queues it again.
        ApiKey.objects.filter(pk=key_id, rejected_use_notified_at=now).update(
            rejected_use_notified_at=previous
        )

    task_enqueue(
        "integrations.tasks.api_key_rejected_use_notice_send",
        args=[key_id, now.isoformat()],
        on_broker_down=give_back_the_claim,
    )
    return True


def api_key_rejected_use_notice_send(
    *, api_key_id: int, claimed_at: datetime | None = None, now: datetime | None = None
) -> bool:
    """Email the admins that Entra still sends this revoked or expired key. Idempotent.

    Called by the task that api_key_rejected_use_notify queued, with the claim it made
    (`claimed_at`, the key's rejected_use_notified_at; None takes the key's current claim, as
    for a message queued before the claim was passed). Marks that claim sent by a conditional
    UPDATE before sending, so a second run of the task (a redelivered message) sends nothing,
    and neither does a run for a claim a newer one has replaced. Returns False when nothing is
    sent: already sent, no claim, key gone or usable again. On a delivery error the mark is
    given back and the error raised, so a retry sends it.
    """
    now = now or timezone.now()
    keys = ApiKey.objects.filter(pk=api_key_id, rejected_use_notified_at__isnull=False)
    if claimed_at is not None:
        keys = keys.filter(rejected_use_notified_at=claimed_at)
    claimed = (
        keys.filter(Q(revoked_at__isnull=False) | Q(expires_at__lte=now))
        .exclude(rejected_use_notice_sent_at=F("rejected_use_notified_at"))
        .update(rejected_use_notice_sent_at=F("rejected_use_notified_at"))
    )
    if not claimed:
        return False
    try:
        _notice_send(notice=KeyNotice.REJECTED_USE, api_key=_notifiable_key(api_key_id), now=now)
    except BaseException:
        ApiKey.objects.filter(
            pk=api_key_id, rejected_use_notice_sent_at=F("rejected_use_notified_at")
        ).update(rejected_use_notice_sent_at=None)
        raise
    return True
