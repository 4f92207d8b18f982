"""Reads of a person's History: what Microsoft Entra ID did to one provisioned person.

Every function takes the company and filters on it in SQL.
"""

from django.db import connection
from django.db.models import Q, QuerySet

from qaportal.accounts.models import Company, User

from ..models import MEMBER_OPERATIONS, ProvisioningEvent
from .activity import ActivityCursor

Operation = ProvisioningEvent.Operation
HISTORY_SIZE = 100
# Successful reads (Entra's lookups) change nothing: the History leaves them out.
_READS = (Operation.GET_USER, Operation.FILTER_USERS, Operation.LIST_USERS)


def _about_person(*, company: Company, person: User) -> QuerySet[ProvisioningEvent]:
    """Requests about the person as a SCIM User: by id (index integrations_prov_resource), and
    failed ones that name their userName (a create refused because the userName is taken;
    index integrations_prov_name). Their changes, their Microsoft sign-ins and every
    failed request about them; not Entra's successful lookups."""
    about = Q(resource_id=str(person.scim_id))
    if person.user_name:
        # A refused create carries the id it would have had: match its userName instead.
        about |= Q(resource_name__iexact=person.user_name) & ~Q(
            outcome=ProvisioningEvent.Outcome.SUCCESS
        )
    return (
        ProvisioningEvent.objects.filter(about, company=company, resource_type="User")
        .exclude(operation__in=_READS, outcome=ProvisioningEvent.Outcome.SUCCESS)
        .order_by("-created_at", "-id")
    )


def _memberships_of_person(*, company: Company, person: User) -> QuerySet[ProvisioningEvent]:
    """Successful team membership changes that list the person among the members added or
    removed. A change set keeps the first MEMBER_IDS_KEPT ids of each list, so a change of
    more members than that names only those.

    On PostgreSQL a JSON containment served by the partial GIN index integrations_prov_members;
    on SQLite a match on the JSON text of the id lists (a SCIM id is a UUID: no false match).
    """
    scim_id = str(person.scim_id)
    if connection.vendor == "postgresql":
        names_person = Q(changes__contains={"members": {"added": {"ids": [scim_id]}}}) | Q(
            changes__contains={"members": {"removed": {"ids": [scim_id]}}}
        )
    else:
        names_person = Q(changes__members__added__ids__icontains=scim_id) | Q(
            changes__members__removed__ids__icontains=scim_id
        )
    return ProvisioningEvent.objects.filter(
        names_person,
        company=company,
        operation__in=MEMBER_OPERATIONS,
        outcome=ProvisioningEvent.Outcome.SUCCESS,
    ).order_by("-created_at", "-id")


def person_event_page(
    *,
    company: Company,
    person: User,
    before: ActivityCursor | None = None,
    size: int = HISTORY_SIZE,
) -> tuple[list[ProvisioningEvent], ActivityCursor | None]:
    """`size` events of the person's History, newest first (older than `before` when given),
    and the cursor of the next older page (None: no older event). Two index-served queries of
    at most `size + 1` rows each, merged."""
    about = _about_person(company=company, person=person)
    memberships = _memberships_of_person(company=company, person=person)
    if before is not None:
        older = Q(created_at__lt=before.created_at) | Q(
            created_at=before.created_at, id__lt=before.id
        )
        about, memberships = about.filter(older), memberships.filter(older)
    events = sorted(
        [*about[: size + 1], *memberships[: size + 1]],
        key=lambda event: (event.created_at, event.pk),
        reverse=True,
    )
    more = len(events) > size
    events = events[:size]
    return events, ActivityCursor.of(events[-1]) if more else None


def person_last_sign_in_get(*, company: Company, person: User) -> ProvisioningEvent | None:
    """The person's latest successful Microsoft sign-in, if the log still has one."""
    return (
        _about_person(company=company, person=person)
        .filter(operation=Operation.SSO_SIGN_IN, outcome=ProvisioningEvent.Outcome.SUCCESS)
        .first()
    )
