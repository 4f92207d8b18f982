"""The words of a change, from the change set stored on its activity row."""

import importlib

import pytest
from django.core.management import call_command

from integrations.changes import AttributeChange, ChangeSet, MemberChanges, SkippedReference
from integrations.models import ProvisioningEvent
from integrations.wording import change_lines, event_detail_lines

Operation, Outcome = ProvisioningEvent.Operation, ProvisioningEvent.Outcome


def event(operation, changes: ChangeSet | None = None, **fields) -> ProvisioningEvent:
    return ProvisioningEvent(
        operation=operation,
        outcome=fields.pop("outcome", Outcome.SUCCESS),
        changes=(changes or ChangeSet()).as_json(),
        **fields,
    )


def test_each_changed_attribute_reads_old_to_new():
    changes = ChangeSet(
        attributes=(
            AttributeChange("department", "Sales", "Marketing"),
            AttributeChange("active", True, False),
            AttributeChange("title", "", "Lead"),
            AttributeChange(
                "emails",
                [{"type": "work", "value": "a@contoso.com"}],
                [{"type": "work", "value": "b@contoso.com", "primary": True}],
            ),
        )
    )
    assert change_lines(changes) == [
        "Department: Sales → Marketing",
        "Status: Active → Deactivated",
        "Job title: (empty) → Lead",
        "Emails: work: a@contoso.com → work: b@contoso.com",
    ]


def test_a_creation_lists_what_the_user_was_given():
    changes = ChangeSet(attributes=(AttributeChange("userName", None, "alice@contoso.com"),))
    assert event_detail_lines(event(Operation.CREATE_USER, changes)) == [
        "Username: alice@contoso.com"
    ]


def test_members_and_skipped_references_read_as_sentences():
    changes = ChangeSet(
        members=MemberChanges(added=("a", "b"), removed=("c",)),
        skipped=(SkippedReference("manager", "42"),),
    )
    assert change_lines(changes) == [
        "2 members added",
        "1 member removed",
        "Manager 42 is not a user of this company; not set",
    ]
    replaced = ChangeSet(members=MemberChanges(added=("a",), replaced=True))
    assert change_lines(replaced) == ["Members set (1 member)"]


def test_an_update_that_changed_nothing_says_so_and_a_failure_says_why():
    assert event_detail_lines(event(Operation.UPDATE_USER)) == ["No change"]
    assert event_detail_lines(event(Operation.GET_USER)) == []
    failed = event(
        Operation.UPDATE_USER,
        outcome=Outcome.FAILED,
        status_code=409,
        scim_type="uniqueness",
        resource_type="User",
        detail="userName x exists.",
    )
    # Why, in an admin's words: never the error's own text.
    assert event_detail_lines(failed) == ["Someone with this username already exists in QA."]


def test_rows_written_before_change_sets_are_migrated_from_their_text():
    migration = importlib.import_module("integrations.migrations.0006_provisioningevent_changes")
    convert = migration.changes_from_detail

    assert convert("3 members added; 1 members removed") == {
        "members": {
            "added": {"count": 3, "ids": []},
            "removed": {"count": 1, "ids": []},
            "replaced": False,
        }
    }
    assert convert("5 members set")["members"]["replaced"] is True
    assert convert("Changed emails, title, work_email") == {
        "attributes": [
            {"name": "emails", "old": None, "new": None},
            {"name": "title", "old": None, "new": None},
        ]
    }
    skipped = convert("Manager 7f4b is not a user of this company; not set.")
    assert skipped == {"skipped": [{"attribute": "manager", "value": "7f4b"}]}
    # And they read as before, without values.
    assert change_lines(ChangeSet.from_json(convert("Changed title"))) == ["Job title changed"]


@pytest.mark.django_db(transaction=True)
def test_the_migration_turns_stored_text_into_change_sets():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = (
        [("integrations", "0005_audit_event_sso_updated")],
        [("integrations", "0006_provisioningevent_changes")],
    )
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    OldEvent = old_apps.get_model("integrations", "ProvisioningEvent")  # noqa: N806
    common = {"method": "PATCH", "path": "/x", "status_code": 204}
    added = OldEvent.objects.create(
        operation="add_members", outcome="success", detail="2 members added", **common
    )
    failed = OldEvent.objects.create(
        operation="add_members", outcome="failed", detail="These member ids are not…", **common
    )
    try:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
    finally:
        call_command("migrate", verbosity=0)

    added = ProvisioningEvent.objects.get(pk=added.pk)
    assert (added.detail, added.changes["members"]["added"]["count"]) == ("", 2)
    failed = ProvisioningEvent.objects.get(pk=failed.pk)
    assert (failed.detail, failed.changes) == ("These member ids are not…", {})
