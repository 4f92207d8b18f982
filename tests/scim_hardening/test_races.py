"""Concurrent SCIM requests on PostgreSQL, through the whole HTTP stack.

Every request runs in its own thread with its own database connection (Django's connections
are per thread) and really commits (`transaction=True`); a Barrier releases them together.
"""

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connections

from qaportal.accounts.models import Group, GroupMembership, User
from tests.factories import LearnerFactory, TeamFactory
from tests.scim.conftest import BASE, ENTERPRISE, ERROR, GROUP, ScimClient

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def run_together(calls: list[Callable[[], object]]) -> list[object]:
    """Run each call in its own thread, released at once; their results (or exceptions)."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def worker(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


def client_for(generated_key) -> ScimClient:
    return ScimClient(HTTP_AUTHORIZATION=f"Bearer {generated_key.plaintext}")


def assert_one_created_rest_conflict(responses) -> None:
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (len(responses) - 1), statuses
    for response in responses:
        if response.status_code == 409:
            assert response.json()["schemas"] == [ERROR]
            assert response.json()["status"] == "409"
            assert response.json()["scimType"] == "uniqueness"


def test_concurrent_creates_of_one_user_name_create_exactly_one(generated_key, company):
    def create(n: int) -> Callable[[], object]:
        # The same userName in different cases: uniqueness is case-insensitive.
        name = "Race@Contoso.com" if n % 2 else "race@contoso.com"
        body = {"schemas": [], "userName": name, "externalId": f"ext-{n}", "active": True}
        return lambda: client_for(generated_key).post_json(f"{BASE}/Users", body)

    responses = run_together([create(n) for n in range(THREADS)])

    assert_one_created_rest_conflict(responses)
    assert User.objects.filter(company=company, user_name__iexact="race@contoso.com").count() == 1


def test_concurrent_creates_in_two_companies_both_succeed(
    generated_key, other_generated_key, company, other_company
):
    body = {"schemas": [], "userName": "same@example.com"}
    keys = [generated_key, other_generated_key] * (THREADS // 2)
    responses = run_together(
        [lambda key=key: client_for(key).post_json(f"{BASE}/Users", body) for key in keys]
    )
    assert sorted(r.status_code for r in responses) == [201, 201] + [409] * (THREADS - 2)
    assert User.objects.filter(company=company, user_name="same@example.com").count() == 1
    assert User.objects.filter(company=other_company, user_name="same@example.com").count() == 1


def test_concurrent_creates_of_one_group_display_name_create_exactly_one(generated_key, company):
    def create(n: int) -> Callable[[], object]:
        body = {"schemas": [GROUP], "displayName": "Sales" if n % 2 else "SALES"}
        return lambda: client_for(generated_key).post_json(f"{BASE}/Groups", body)

    responses = run_together([create(n) for n in range(THREADS)])

    assert_one_created_rest_conflict(responses)
    assert Group.objects.filter(company=company, display_name__iexact="sales").count() == 1


def test_concurrent_creates_of_one_group_with_members_create_exactly_one(generated_key, company):
    members = LearnerFactory.create_batch(3, company=company)
    body = {
        "schemas": [GROUP],
        "displayName": "Support",
        "members": [{"value": str(m.scim_id)} for m in members],
    }
    responses = run_together(
        [lambda: client_for(generated_key).post_json(f"{BASE}/Groups", body)] * THREADS
    )
    assert_one_created_rest_conflict(responses)
    group = Group.objects.get(company=company, display_name="Support")
    assert GroupMembership.objects.filter(group=group).count() == 3


def _patch(generated_key, group: Group, *operations: dict) -> Callable[[], object]:
    return lambda: client_for(generated_key).patch_ops(
        f"{BASE}/Groups/{group.scim_id}", *operations
    )


def _members_of(group: Group) -> set[str]:
    return {
        str(scim_id)
        for scim_id in GroupMembership.objects.filter(group=group).values_list(
            "user__scim_id", flat=True
        )
    }


def test_concurrent_member_adds_lose_no_member(generated_key, company):
    team = TeamFactory(company=company, display_name="Engineering")
    learners = LearnerFactory.create_batch(THREADS * 2, company=company)
    pairs = [learners[n * 2 : n * 2 + 2] for n in range(THREADS)]

    responses = run_together(
        [
            _patch(
                generated_key,
                team,
                {
                    "op": "Add",
                    "path": "members",
                    "value": [{"value": str(u.scim_id)} for u in p],
                },
            )
            for p in pairs
        ]
    )

    assert {r.status_code for r in responses} == {204}
    assert _members_of(team) == {str(u.scim_id) for u in learners}


def test_concurrent_removes_and_adds_end_in_the_serial_result(generated_key, company):
    team = TeamFactory(company=company, display_name="Operations")
    initial = LearnerFactory.create_batch(4, company=company)
    newcomers = LearnerFactory.create_batch(4, company=company)
    GroupMembership.objects.bulk_create(GroupMembership(group=team, user=u) for u in initial)

    def member(user: User) -> str:
        return str(user.scim_id)

    calls = [
        # Entra's remove shape (docs/entra-behaviour.md) and its add shape, interleaved.
        _patch(
            generated_key,
            team,
            {"op": "Remove", "path": f'members[value eq "{member(initial[0])}"]'},
        ),
        _patch(
            generated_key,
            team,
            {"op": "Remove", "path": "members", "value": [{"value": member(initial[1])}]},
        ),
        _patch(
            generated_key,
            team,
            {"op": "Add", "path": "members", "value": [{"value": member(newcomers[0])}]},
        ),
        _patch(
            generated_key,
            team,
            {"op": "Add", "path": "members", "value": [{"value": member(newcomers[1])}]},
        ),
        # One PATCH that removes one member and adds another.
        _patch(
            generated_key,
            team,
            {"op": "Remove", "path": "members", "value": [{"value": member(initial[2])}]},
            {"op": "Add", "path": "members", "value": [{"value": member(newcomers[2])}]},
        ),
        # Re-adding a present member and removing an absent one are no-ops.
        _patch(
            generated_key,
            team,
            {"op": "Add", "path": "members", "value": [{"value": member(initial[3])}]},
            {"op": "Remove", "path": "members", "value": [{"value": member(newcomers[3])}]},
        ),
    ]
    responses = run_together(calls)

    assert {r.status_code for r in responses} == {204}
    assert _members_of(team) == {member(u) for u in [initial[3], *newcomers[:3]]}


def test_concurrent_patches_of_one_user_name_leave_one_owner(generated_key, company):
    users = LearnerFactory.create_batch(THREADS, company=company)
    calls = [
        lambda user=user: client_for(generated_key).patch_ops(
            f"{BASE}/Users/{user.scim_id}",
            {"op": "Replace", "path": "userName", "value": "taken@contoso.com"},
        )
        for user in users
    ]
    responses = run_together(calls)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (THREADS - 1), statuses
    assert User.objects.filter(company=company, user_name="taken@contoso.com").count() == 1


ROUNDS = 4


def test_a_group_patched_while_it_is_deleted_never_fails_with_500(generated_key, company):
    for _ in range(ROUNDS):
        team = TeamFactory(company=company)
        users = LearnerFactory.create_batch(3, company=company)
        calls = [
            _patch(generated_key, team, {"op": "Add", "path": "members", "value": [{"value": v}]})
            for v in (str(u.scim_id) for u in users)
        ]
        calls.append(lambda team=team: client_for(generated_key).delete(_group_path(team)))

        responses = run_together(calls)

        # Each PATCH ran before the DELETE (204) or found the team gone (404).
        assert {r.status_code for r in responses} <= {204, 404}
        assert responses[-1].status_code == 204
        assert not Group.objects.filter(pk=team.pk).exists()
        assert not GroupMembership.objects.filter(group_id=team.pk).exists()


def test_a_user_changed_and_added_to_a_group_while_deleted_never_fails_with_500(
    generated_key, company
):
    for _ in range(ROUNDS):
        team = TeamFactory(company=company)
        user = LearnerFactory(company=company)
        path = f"{BASE}/Users/{user.scim_id}"
        calls = [
            lambda n=n, path=path: client_for(generated_key).patch_ops(
                path, {"op": "Replace", "path": "displayName", "value": f"Renamed {n}"}
            )
            for n in range(3)
        ]
        calls.append(
            _patch(
                generated_key,
                team,
                {"op": "Add", "path": "members", "value": [{"value": str(user.scim_id)}]},
            )
        )
        calls.append(lambda path=path: client_for(generated_key).delete(path))

        responses = run_together(calls)

        assert all(r.status_code < 500 for r in responses), [r.status_code for r in responses]
        assert responses[-1].status_code == 204
        # The group PATCH either ran first (and its row went with the user) or was refused.
        assert responses[3].status_code in {204, 400}
        assert not User.objects.filter(pk=user.pk).exists()
        assert not GroupMembership.objects.filter(user_id=user.pk).exists()


def _group_path(team: Group) -> str:
    return f"{BASE}/Groups/{team.scim_id}"


def test_a_manager_deleted_while_being_assigned_never_fails_with_500(generated_key, company):
    for _ in range(ROUNDS):
        report = LearnerFactory(company=company)
        manager = LearnerFactory(company=company)
        assign = {
            "op": "Replace",
            "path": f"{ENTERPRISE}:manager",
            "value": {"value": str(manager.scim_id)},
        }
        report_path = f"{BASE}/Users/{report.scim_id}"
        manager_path = f"{BASE}/Users/{manager.scim_id}"
        calls = [
            lambda path=report_path, op=assign: client_for(generated_key).patch_ops(path, op),
            lambda path=manager_path: client_for(generated_key).delete(path),
        ]

        assigned, deleted = run_together(calls)

        # Assigned before the deletion (then cleared by it), or refused as a dangling reference.
        assert assigned.status_code in {200, 400}, assigned.content
        assert deleted.status_code == 204
        report.refresh_from_db()
        assert report.manager_id is None


def test_concurrent_patches_adding_emails_and_phones_to_one_user_lose_nothing(
    generated_key, company
):
    user = LearnerFactory(company=company, emails=[], phone_numbers=[])
    path = f"{BASE}/Users/{user.scim_id}"

    def add(n: int) -> Callable[[], object]:
        operations = [
            {"op": "Add", "path": "emails", "value": [{"type": f"t{n}", "value": f"{n}@c.com"}]},
            {"op": "Add", "path": f'phoneNumbers[type eq "p{n}"].value', "value": f"+1 555 {n}"},
        ]
        return lambda: client_for(generated_key).patch_ops(path, *operations)

    for _ in range(ROUNDS):
        User.objects.filter(pk=user.pk).update(emails=[], phone_numbers=[])
        responses = run_together([add(n) for n in range(THREADS)])

        assert {r.status_code for r in responses} == {200}, [r.content for r in responses]
        user.refresh_from_db()
        assert sorted(e["type"] for e in user.emails) == sorted(f"t{n}" for n in range(THREADS))
        assert sorted(p["type"] for p in user.phone_numbers) == sorted(
            f"p{n}" for n in range(THREADS)
        )


def test_a_manager_deleted_while_a_user_is_created_never_fails_with_500(generated_key, company):
    """The manager is deleted by another transaction after the POST looked it up and before its
    INSERT commits: the INSERT's foreign key check waits on the deleting transaction's row
    lock, then fails when it commits. The POST answers 400 and creates nothing."""
    manager = LearnerFactory(company=company)
    deleter = connections.create_connection("default")
    try:
        with deleter.cursor() as cursor:
            cursor.execute("BEGIN")
            # Deleted but not committed: the POST still finds the manager (MVCC).
            cursor.execute("DELETE FROM accounts_user WHERE id = %s", [manager.pk])
        body = {
            "userName": "report@contoso.com",
            ENTERPRISE: {"manager": {"value": str(manager.scim_id)}},
        }
        responses: list = []

        def create() -> None:
            try:
                responses.append(client_for(generated_key).post_json(f"{BASE}/Users", body))
            finally:
                connections.close_all()

        thread = threading.Thread(target=create)
        thread.start()
        with deleter.cursor() as cursor:
            for _ in range(200):  # until the INSERT waits for the deleter's lock (≤ 10 s)
                # Inside a transaction the activity view is a snapshot taken once: renew it.
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE '%%INSERT INTO \"accounts_user\"%%'"
                )
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the POST never waited for the manager's row lock")
            cursor.execute("COMMIT")
        thread.join(timeout=30)
        assert not thread.is_alive(), "the POST hung"
    finally:
        deleter.close()

    [response] = responses
    assert response.status_code == 400, response.content
    assert response.json()["scimType"] == "invalidValue"
    assert not User.objects.filter(company=company, user_name="report@contoso.com").exists()
