"""The SCIM write services on their own, without HTTP: what each returns and what it logs."""

import pytest

from integrations.changes import MEMBER_IDS_KEPT, AttributeChange, MemberChanges
from integrations.models import ProvisioningEvent
from qaportal.accounts.models import GroupMembership, User
from scim.activity import RequestActivity
from scim.adapters import ScimUser, group_changes_from_patch
from scim.errors import InvalidValue, NotFound
from scim.patch import normalize_patch
from scim.services.groups import group_patch, group_replace
from scim.services.users import user_create, user_delete, user_patch
from tests.factories import CompanyFactory, LearnerFactory, TeamFactory
from tests.scim.conftest import ENTERPRISE

Operation = ProvisioningEvent.Operation


def activity_for(company, method: str = "PATCH") -> RequestActivity:
    return RequestActivity(method=method, path="/webhooks/ad/v1/scim/x", company_id=company.pk)


def patch_ops(*operations: dict) -> list:
    return normalize_patch(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": list(operations),
        }
    )


def test_a_patch_returns_the_user_and_each_change_with_old_and_new_values(company):
    learner = LearnerFactory(company=company, title="Analyst", department="Sales")
    activity = activity_for(company)

    change = user_patch(
        company_id=company.pk,
        scim_id=str(learner.scim_id),
        operations=patch_ops(
            {"op": "Replace", "path": "title", "value": "Lead"},
            {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Marketing"},
        ),
        activity=activity,
    )

    assert change.operation == Operation.UPDATE_USER
    assert change.resource.pk == learner.pk and change.resource.title == "Lead"
    assert change.changes.attributes == (
        AttributeChange("title", "Analyst", "Lead"),
        AttributeChange("department", "Sales", "Marketing"),
    )
    row = ProvisioningEvent.objects.get()
    assert (row.operation, row.resource_id, row.status_code) == (
        "update_user",
        str(learner.scim_id),
        200,
    )
    assert row.changes == {
        "attributes": [
            {"name": "title", "old": "Analyst", "new": "Lead"},
            {"name": "department", "old": "Sales", "new": "Marketing"},
        ]
    }
    learner.refresh_from_db()
    assert (learner.title, learner.department) == ("Lead", "Marketing")


def test_a_patch_that_changes_nothing_writes_nothing_and_logs_no_change(
    company, django_assert_num_queries
):
    learner = LearnerFactory(company=company, title="Analyst")
    with django_assert_num_queries(2):  # the read and the activity row: no UPDATE
        change = user_patch(
            company_id=company.pk,
            scim_id=str(learner.scim_id),
            operations=patch_ops({"op": "Replace", "path": "title", "value": "Analyst"}),
            activity=activity_for(company),
        )
    assert change.changes.is_empty
    assert ProvisioningEvent.objects.get().changes == {}


def test_deactivation_is_named_as_such(company):
    learner = LearnerFactory(company=company)
    change = user_patch(
        company_id=company.pk,
        scim_id=str(learner.scim_id),
        operations=patch_ops({"op": "Replace", "path": "active", "value": "False"}),
        activity=activity_for(company),
    )
    assert change.operation == Operation.DEACTIVATE_USER
    assert change.changes.attributes == (AttributeChange("active", True, False),)


def test_another_companys_user_is_not_found_and_unchanged(company):
    stranger = LearnerFactory(company=CompanyFactory(), title="Analyst")
    with pytest.raises(NotFound):
        user_patch(
            company_id=company.pk,
            scim_id=str(stranger.scim_id),
            operations=patch_ops({"op": "Replace", "path": "title", "value": "Lead"}),
            activity=activity_for(company),
        )
    stranger.refresh_from_db()
    assert stranger.title == "Analyst"
    assert not ProvisioningEvent.objects.exists()  # the middleware logs failures, not services


def test_a_manager_of_another_company_is_refused_in_a_patch(company):
    learner = LearnerFactory(company=company)
    stranger = LearnerFactory(company=CompanyFactory())
    with pytest.raises(InvalidValue):
        user_patch(
            company_id=company.pk,
            scim_id=str(learner.scim_id),
            operations=patch_ops(
                {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": str(stranger.scim_id)}
            ),
            activity=activity_for(company),
        )
    learner.refresh_from_db()
    assert learner.manager_id is None


def test_a_create_with_an_unknown_manager_creates_the_user_and_says_what_was_skipped(company):
    stranger = LearnerFactory(company=CompanyFactory())
    profile = ScimUser.profile_from_resource(
        {"userName": "alice@contoso.com", ENTERPRISE: {"manager": {"value": str(stranger.scim_id)}}}
    )
    change = user_create(
        company_id=company.pk, profile=profile, activity=activity_for(company, "POST")
    )
    assert change.operation == Operation.CREATE_USER
    assert change.resource.manager_id is None
    row = ProvisioningEvent.objects.get()
    assert row.status_code == 201
    assert row.changes["skipped"] == [{"attribute": "manager", "value": str(stranger.scim_id)}]


def test_a_deletion_returns_the_deleted_user_and_logs_it_with_the_change(company):
    learner = LearnerFactory(company=company, user_name="gone@contoso.com")
    change = user_delete(
        company_id=company.pk,
        scim_id=str(learner.scim_id),
        activity=activity_for(company, "DELETE"),
    )
    assert (change.operation, change.resource_name) == (Operation.DELETE_USER, "gone@contoso.com")
    assert not User.objects.filter(pk=learner.pk).exists()
    row = ProvisioningEvent.objects.get()
    assert (row.operation, row.status_code, row.resource_name) == (
        "delete_user",
        204,
        "gone@contoso.com",
    )


def test_member_changes_name_the_members_added_and_removed(company):
    team = TeamFactory(company=company, display_name="Sales")
    alice, bob = LearnerFactory(company=company), LearnerFactory(company=company)
    GroupMembership.objects.create(group=team, user=bob)

    change = group_patch(
        company_id=company.pk,
        scim_id=str(team.scim_id),
        changes=group_changes_from_patch(
            patch_ops(
                {"op": "Add", "path": "members", "value": [{"value": str(alice.scim_id)}]},
                {"op": "Remove", "path": "members", "value": [{"value": str(bob.scim_id)}]},
            )
        ),
        activity=activity_for(company),
    )

    assert change.operation == Operation.UPDATE_MEMBERS
    assert change.changes.members == MemberChanges(
        added=(str(alice.scim_id),), removed=(str(bob.scim_id),), removed_count=1
    )
    assert set(team.members.all()) == {alice}


def test_an_unknown_member_changes_nothing_and_logs_nothing(company):
    team = TeamFactory(company=company)
    stranger = LearnerFactory(company=CompanyFactory())
    with pytest.raises(InvalidValue):
        group_patch(
            company_id=company.pk,
            scim_id=str(team.scim_id),
            changes=group_changes_from_patch(
                patch_ops(
                    {"op": "Replace", "path": "displayName", "value": "Renamed"},
                    {"op": "Add", "path": "members", "value": [{"value": str(stranger.scim_id)}]},
                )
            ),
            activity=activity_for(company),
        )
    team.refresh_from_db()
    assert team.display_name != "Renamed"
    assert not team.members.exists()
    assert not ProvisioningEvent.objects.exists()


def test_a_replace_of_the_member_list_names_who_was_dropped(company):
    team = TeamFactory(company=company)
    kept, dropped = LearnerFactory(company=company), LearnerFactory(company=company)
    GroupMembership.objects.create(group=team, user=kept)
    GroupMembership.objects.create(group=team, user=dropped)
    change = group_replace(
        company_id=company.pk,
        scim_id=str(team.scim_id),
        changes=group_changes_from_patch(
            patch_ops(
                {"op": "Replace", "path": "displayName", "value": team.display_name},
                {"op": "Replace", "path": "members", "value": [{"value": str(kept.scim_id)}]},
            )
        ),
        activity=activity_for(company, "PUT"),
    )
    assert change.changes.members.replaced
    assert change.changes.members.removed == (str(dropped.scim_id),)


def test_the_stored_change_of_a_big_member_add_is_bounded(company):
    team = TeamFactory(company=company)
    User.objects.bulk_create(
        User(company=company, role=User.Role.LEARNER, user_name=f"bulk{n}@contoso.com")
        for n in range(300)
    )
    members = [
        {"value": str(scim_id)} for scim_id in User.objects.values_list("scim_id", flat=True)
    ]
    group_patch(
        company_id=company.pk,
        scim_id=str(team.scim_id),
        changes=group_changes_from_patch(
            patch_ops({"op": "Add", "path": "members", "value": members})
        ),
        activity=activity_for(company),
    )
    stored = ProvisioningEvent.objects.get().changes["members"]["added"]
    assert stored["count"] == 300
    assert len(stored["ids"]) == MEMBER_IDS_KEPT
