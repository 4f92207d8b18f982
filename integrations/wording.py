"""The words the portal, the CSV export, the API and the emails use for provisioning activity.

Selectors return rows and data; this module turns them into sentences an admin reads:
"Created person alice@contoso.com", "Added 3 members to Sales", "Department: Sales → Marketing".
It is the one place to change a phrase.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .changes import AttributeChange, ChangeSet, MemberChanges
from .models import ProvisioningEvent

Operation = ProvisioningEvent.Operation
Outcome = ProvisioningEvent.Outcome


def duration_short(delta: timedelta) -> str:
    """A duration the way a banner says it: "7 h 12 min", "2 d 3 h", "less than a minute"."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


@dataclass(frozen=True)
class OperationWords:
    """How one operation reads: when it worked ("done") and when it failed ("tried")."""

    done: str  # "{name}" is the resource's name: "Created person {name}"
    resource_type: str  # "User", "Group" or "" (discovery)
    tried: str = ""  # a failure or a refused key, if not "<label> {name}"


_U, _G = "User", "Group"
OPERATION_WORDS: dict[str, OperationWords] = {
    Operation.CREATE_USER: OperationWords("Created person {name}", _U),
    Operation.UPDATE_USER: OperationWords("Updated person {name}", _U),
    Operation.REPLACE_USER: OperationWords("Replaced person {name}", _U),
    Operation.DEACTIVATE_USER: OperationWords("Deactivated {name}", _U),
    Operation.REACTIVATE_USER: OperationWords("Reactivated {name}", _U),
    Operation.DELETE_USER: OperationWords("Deleted person {name}", _U),
    Operation.GET_USER: OperationWords("Read person {name}", _U),
    Operation.SSO_SIGN_IN: OperationWords(
        "{name} signed in with Microsoft", _U, tried="Microsoft sign-in refused for {name}"
    ),
    Operation.FILTER_USERS: OperationWords("Looked up person {name}", _U),
    Operation.LIST_USERS: OperationWords("Listed people", _U),
    Operation.CREATE_GROUP: OperationWords("Created team {name}", _G),
    Operation.UPDATE_GROUP: OperationWords("Updated team {name}", _G),
    Operation.REPLACE_GROUP: OperationWords("Replaced team {name}", _G),
    Operation.DELETE_GROUP: OperationWords("Deleted team {name}", _G),
    Operation.ADD_MEMBERS: OperationWords(
        "Added {members} to {name}", _G, tried="Add members to {name}"
    ),
    Operation.REMOVE_MEMBERS: OperationWords(
        "Removed {members} from {name}", _G, tried="Remove members from {name}"
    ),
    Operation.UPDATE_MEMBERS: OperationWords(
        "Changed the members of {name}", _G, tried="Change the members of {name}"
    ),
    Operation.REPLACE_MEMBERS: OperationWords(
        "Replaced the members of {name}", _G, tried="Replace the members of {name}"
    ),
    Operation.GET_GROUP: OperationWords("Read team {name}", _G),
    Operation.FILTER_GROUPS: OperationWords("Looked up team {name}", _G),
    Operation.LIST_GROUPS: OperationWords("Listed teams", _G),
    Operation.GET_SERVICE_PROVIDER_CONFIG: OperationWords(
        "Read the service provider configuration",
        "",
        tried="Read the service provider configuration",
    ),
    Operation.GET_SCHEMAS: OperationWords("Read the schemas", ""),
    Operation.GET_RESOURCE_TYPES: OperationWords("Read the resource types", ""),
    Operation.SEARCH: OperationWords("Searched people and teams", ""),
    Operation.UNSUPPORTED_ENDPOINT: OperationWords(
        "Called an unsupported endpoint", "", tried="Call an unsupported endpoint"
    ),
}
RESOURCE_TYPES = {"User": "People", "Group": "Teams"}


def operation_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The operations for a filter, grouped as People, Teams and Other."""
    groups: dict[str, list[tuple[str, str]]] = {"People": [], "Teams": [], "Other": []}
    for code, label in Operation.choices:
        kind = OPERATION_WORDS[code].resource_type
        groups[RESOURCE_TYPES.get(kind, "Other")].append((code, label))
    return list(groups.items())


def _members(count: int | None) -> str:
    if count is None:
        return "members"
    return f"{count} member" if count == 1 else f"{count} members"


def activity_summary(event: ProvisioningEvent) -> str:
    """An event in words: "Created person alice@contoso.com", "Added 3 members to Sales".

    Successes read in the past tense; failures and refused keys as what was attempted
    ("Create user alice@contoso.com").
    """
    name = event.resource_name or event.resource_id
    words = OPERATION_WORDS.get(event.operation)
    if words is None:
        text = (event.operation or f"{event.method} request").replace("_", " ")
        return f"{text[:1].upper()}{text[1:]} {name}".strip()
    if event.outcome != ProvisioningEvent.Outcome.SUCCESS:
        label = Operation(event.operation).label
        return _fill(words.tried or f"{label} {{name}}", name=name)
    members = ChangeSet.from_json(event.changes).members
    if event.operation == Operation.ADD_MEMBERS:
        return _fill(words.done, name=name, members=_members(_count(members, "added")))
    if event.operation == Operation.REMOVE_MEMBERS:
        return _fill(words.done, name=name, members=_members(_count(members, "removed")))
    if event.operation == Operation.REPLACE_MEMBERS and members is not None:
        return _fill(f"{words.done} ({_members(members.number_added)})", name=name)
    if event.operation == Operation.UPDATE_MEMBERS and members is not None:
        added, removed = members.number_added, members.number_removed
        return _fill(f"{words.done}: {added} added, {removed} removed", name=name)
    return _fill(words.done, name=name)


def _count(members: MemberChanges | None, which: str) -> int | None:
    if members is None:
        return None
    return members.number_added if which == "added" else members.number_removed


def _fill(template: str, **values: str) -> str:
    text = template.format(**values)
    # A request without a resource name ("Create user" refused before its body was read).
    return " ".join(text.split()).replace(" :", ":").replace("( ", "(").rstrip(" :")


# --- What changed, attribute by attribute ------------------------------------------------------

ATTRIBUTE_LABELS = {
    "userName": "Username",
    "externalId": "External ID",
    "active": "Status",
    "name.givenName": "First name",
    "name.familyName": "Last name",
    "name.formatted": "Full name",
    "displayName": "Display name",
    "nickName": "Nickname",
    "title": "Job title",
    "emails": "Emails",
    "phoneNumbers": "Phone numbers",
    "addresses": "Addresses",
    "employeeNumber": "Employee number",
    "department": "Department",
    "manager": "Manager",
}
EMPTY = "(empty)"


def attribute_label(name: str) -> str:
    return ATTRIBUTE_LABELS.get(name, name)


def value_text(name: str, value: Any) -> str:
    """One attribute value as a short text: "Active", "work: a@contoso.com", "(empty)"."""
    if name == "active" and isinstance(value, bool):
        return "Active" if value else "Deactivated"
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, list):
        return ", ".join(_item_text(item) for item in value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _item_text(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    if "value" in item:
        text = str(item["value"])
    else:  # an address: its parts, in their usual order
        parts = ("formatted", "streetAddress", "locality", "region", "postalCode", "country")
        text = ", ".join(str(item[part]) for part in parts if item.get(part))
    kind = item.get("type")
    return f"{kind}: {text}" if kind else text


def attribute_change_text(change: AttributeChange, *, created: bool = False) -> str:
    """ "Department: Sales → Marketing"; on a creation "Department: Sales"; a change recorded
    without values (before values were kept): "Department changed"."""
    label = attribute_label(change.name)
    if created:
        return f"{label}: {value_text(change.name, change.new)}"
    if change.old is None and change.new is None:
        return f"{label} changed"
    return f"{label}: {value_text(change.name, change.old)} → {value_text(change.name, change.new)}"


def member_changes_text(members: MemberChanges) -> list[str]:
    if members.replaced:
        return [f"Members set ({_members(members.number_added)})"]
    lines = []
    if members.number_added:
        lines.append(f"{_members(members.number_added)} added")
    if members.number_removed:
        lines.append(f"{_members(members.number_removed)} removed")
    return lines


def change_lines(changes: ChangeSet, *, created: bool = False) -> list[str]:
    """Each thing a change did, one line each, in the order it was recorded."""
    lines = [attribute_change_text(change, created=created) for change in changes.attributes]
    if changes.members is not None:
        lines += member_changes_text(changes.members)
    lines += [
        f"{attribute_label(skipped.attribute)} {skipped.value} is not a user of this company; "
        "not set"
        for skipped in changes.skipped
    ]
    return lines


# Updates that may find nothing to change (Entra sends what differs, other clients may not).
_UPDATES = frozenset(
    {Operation.UPDATE_USER, Operation.REPLACE_USER, Operation.UPDATE_GROUP, Operation.REPLACE_GROUP}
)
NO_CHANGE = "No change"


def event_detail_lines(event: ProvisioningEvent) -> list[str]:
    """What the activity table's Detail column says: the change's lines, else the error."""
    if event.outcome == ProvisioningEvent.Outcome.SUCCESS:
        created = event.operation in (Operation.CREATE_USER, Operation.CREATE_GROUP)
        lines = change_lines(ChangeSet.from_json(event.changes), created=created)
        if not lines and event.operation in _UPDATES:
            return [NO_CHANGE]
        return lines
    # Why it failed in our words, never the error's own text (it may quote a parser).
    failure = failure_words(event)
    return [failure.reason] if failure else []


def joined(lines: Iterable[str]) -> str:
    return "; ".join(lines)


# --- Failures in an admin's words, with what to check in Entra ----------------------------------

ENTRA_PROVISIONING = "Entra admin center → Entra ID → Enterprise apps → (the QA app) → Provisioning"
ENTRA_MATCHING = (
    f"{ENTRA_PROVISIONING} → Mappings → Provision Microsoft Entra ID Users → (the attribute) → "
    "Match objects using this attribute"
)
RESTART = f"choose Restart provisioning in {ENTRA_PROVISIONING}"


@dataclass(frozen=True)
class FailureWords:
    """Why a request failed, in an admin's words, and what to do about it in Entra.

    Made from the answer's status, scimType and the operation only: never from the error's
    text, which may quote a parser or the database.
    """

    reason: str
    remedy: str


def failure_words(event: ProvisioningEvent) -> FailureWords | None:
    """The one mapping of every SCIM answer of ours to admin words; None for a success."""
    if event.outcome == Outcome.SUCCESS:
        return None
    if event.operation == Operation.SSO_SIGN_IN:
        # Written by sso/ in admin words already (sso.exceptions.SignInRefused.admin_text).
        return FailureWords(
            reason=event.detail or "Microsoft sign-in was refused.",
            remedy="Check that the person is assigned to the QA app in Entra (Users and groups).",
        )
    status, scim_type = event.status_code or 0, event.scim_type or ""
    detail = (event.detail or "").lower()
    is_group = event.resource_type == "Group"
    thing = "team" if is_group else "person"
    if event.outcome == Outcome.REJECTED_KEY or status == 401:
        # A refused key's detail is the middleware's own sentence (revoked, or expired).
        known = event.detail if event.outcome == Outcome.REJECTED_KEY else ""
        return FailureWords(
            reason=known
            or "Microsoft Entra ID is sending a key QA no longer accepts, so no changes "
            "arrive. Entra quarantines the app after repeated failures.",
            remedy=f"In {ENTRA_PROVISIONING} → Admin Credentials, paste a current key as Secret "
            "Token, choose Test Connection, then Save. If Entra quarantined the app, choose "
            "Restart provisioning.",
        )
    if status == 404:
        if event.resource_id:
            return FailureWords(
                reason=f"Microsoft Entra ID is updating a {thing} who no longer exists in QA.",
                remedy=f"To make Entra match everyone again, {RESTART} (a full cycle, slow).",
            )
        return FailureWords(
            reason="Microsoft Entra ID is calling an address QA does not serve.",
            remedy=f"In {ENTRA_PROVISIONING} → Admin Credentials, fix the Tenant URL (copy it "
            "from Settings & Integrations).",
        )
    if status == 409:
        if is_group:
            return FailureWords(
                reason="A team with this name already exists in QA.",
                remedy="Rename the group in Entra, or the team in QA.",
            )
        return FailureWords(
            reason="Someone with this username already exists in QA.",
            remedy="If it is the same person, make userName the matching attribute (matching "
            f"precedence 1) in {ENTRA_MATCHING}; otherwise change the value in Entra.",
        )
    if status == 413:
        return FailureWords(
            reason="One change, usually a large group update, was larger than QA accepts.",
            remedy="Nothing to change in Entra: tell QA support, who raise the limit.",
        )
    if status == 429:
        return FailureWords(
            reason="QA asked Microsoft Entra ID to slow down; Entra retries by itself.",
            remedy="Nothing.",
        )
    if status >= 500:
        return FailureWords(
            reason="QA had a problem; Microsoft Entra ID retries in about 40 minutes.",
            remedy=f"Nothing, unless Entra quarantined the app: then {RESTART}.",
        )
    if scim_type == "invalidFilter":
        return FailureWords(
            reason="Microsoft Entra ID looked people up by a field QA cannot search on.",
            remedy=f"Set matching back to userName (people) or displayName (groups) in "
            f"{ENTRA_MATCHING}.",
        )
    if scim_type == "invalidValue" and "member" in detail:
        return FailureWords(
            reason="Entra added someone to a group before that person existed in QA. Entra "
            "retries this by itself; it does not cause quarantine.",
            remedy="Assign the person to the QA app (Users and groups) and check the scoping "
            "filters.",
        )
    if scim_type == "invalidValue" and "manager" in detail:
        return FailureWords(
            reason="This person's manager is not in QA yet.",
            remedy="Assign the manager to the QA app in Entra (Users and groups).",
        )
    if scim_type in ("invalidValue", "tooMany"):
        return FailureWords(
            reason="A value is too long or has a form QA does not accept.",
            remedy="Fix the value in Entra, or shorten it in the mapping, e.g. "
            "Left([attribute], 256).",
        )
    if scim_type in ("invalidSyntax", "invalidPath", "noTarget", "mutability"):
        return FailureWords(
            reason="Microsoft Entra ID sent a change QA could not read, usually for an "
            "attribute QA does not support.",
            remedy=f"Remove that attribute from {ENTRA_PROVISIONING} → Mappings. The Tenant "
            "URL should end in ?aadOptscim062020, which selects Entra's standard PATCH.",
        )
    return FailureWords(
        reason=f"QA refused the request (answer {status}).",
        remedy=f"Check the mappings in {ENTRA_PROVISIONING}; if it keeps failing, tell QA "
        "support the change id.",
    )


# --- A person's History -------------------------------------------------------------------------

BY_ENTRA = "by Microsoft Entra ID"
_PERSON_DONE = {
    Operation.CREATE_USER: f"Created {BY_ENTRA}",
    Operation.UPDATE_USER: f"Updated {BY_ENTRA}",
    Operation.REPLACE_USER: f"Updated {BY_ENTRA}",
    Operation.DEACTIVATE_USER: f"Deactivated {BY_ENTRA}",
    Operation.REACTIVATE_USER: f"Reactivated {BY_ENTRA}",
    Operation.DELETE_USER: f"Deleted {BY_ENTRA}",
    Operation.SSO_SIGN_IN: "Signed in with Microsoft",
}
_PERSON_TRIED = {
    Operation.CREATE_USER: "Microsoft Entra ID could not create this person",
    Operation.UPDATE_USER: "Microsoft Entra ID could not update this person",
    Operation.REPLACE_USER: "Microsoft Entra ID could not update this person",
    Operation.DEACTIVATE_USER: "Microsoft Entra ID could not deactivate this person",
    Operation.REACTIVATE_USER: "Microsoft Entra ID could not reactivate this person",
    Operation.DELETE_USER: "Microsoft Entra ID could not delete this person",
    Operation.SSO_SIGN_IN: "Microsoft sign-in refused",
}


@dataclass(frozen=True)
class HistoryEntry:
    """One event of a person's History: a title, what changed (a line each), why it failed."""

    event: ProvisioningEvent
    title: str
    lines: list[str]
    failure: FailureWords | None = None

    @property
    def is_failure(self) -> bool:
        return self.failure is not None


def person_history_entry(event: ProvisioningEvent, *, scim_id: str) -> HistoryEntry:
    """`event` as it reads on the page of the person whose SCIM id is `scim_id`:
    "Department: Sales → Marketing", "Added to team Sales", "Deactivated by Microsoft Entra ID".
    """
    failure = failure_words(event)
    changes = ChangeSet.from_json(event.changes)
    if failure is not None:
        title = _PERSON_TRIED.get(event.operation) or activity_summary(event)
        return HistoryEntry(event=event, title=title, lines=[], failure=failure)
    members = changes.members
    if members is not None and event.resource_type == "Group":
        team = event.resource_name or "a team"
        if scim_id in members.added:
            verb = "Listed as a member of team" if members.replaced else "Added to team"
            return HistoryEntry(event=event, title=f"{verb} {team}", lines=[])
        return HistoryEntry(event=event, title=f"Removed from team {team}", lines=[])
    title = _PERSON_DONE.get(event.operation) or activity_summary(event)
    created = event.operation == Operation.CREATE_USER
    lines = change_lines(changes, created=created)
    if event.operation in (Operation.DEACTIVATE_USER, Operation.REACTIVATE_USER):
        lines = [line for line in lines if not line.startswith(f"{attribute_label('active')}:")]
    if not lines and event.operation in _UPDATES:
        lines = [NO_CHANGE]
    return HistoryEntry(event=event, title=title, lines=lines)
