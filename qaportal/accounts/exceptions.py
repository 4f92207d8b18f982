"""Domain errors of the accounts app; each edge (form, API, SCIM) translates them once."""

from collections.abc import Iterable


class AccountsError(Exception):
    """Base class of the errors below."""


class UserNameTaken(AccountsError):
    """Another user of the same company has this userName (compared case-insensitively)."""

    def __init__(self, user_name: str):
        self.user_name = user_name
        super().__init__(f"userName {user_name} is already taken in this company.")


class GroupNameTaken(AccountsError):
    """Another team of the same company has this displayName (compared case-insensitively)."""

    def __init__(self, display_name: str):
        self.display_name = display_name
        super().__init__(f"displayName {display_name} is already taken in this company.")


class UnknownMembers(AccountsError):
    """Member ids that are not users of the team's company (or not users at all)."""

    def __init__(self, ids: Iterable[str]):
        self.ids = sorted(str(value) for value in ids)
        super().__init__("Unknown member ids: " + ", ".join(self.ids))


class InvalidManager(AccountsError):
    """The manager is not another user of the same company."""


class InvalidProfile(AccountsError):
    """A profile value the model cannot hold (e.g. an empty userName)."""


class CompanyHasProvisionedUsers(AccountsError):
    """Deleting the company would delete provisioned users the staff member did not confirm.

    `learner_count` is the number of provisioned users now; `confirmed_count` the number the
    staff member confirmed (None if none), which differs when users arrived in the meantime.
    """

    def __init__(self, *, learner_count: int, confirmed_count: int | None):
        self.learner_count = learner_count
        self.confirmed_count = confirmed_count
        super().__init__(
            f"The company has {learner_count} provisioned users; "
            f"confirmed: {'none' if confirmed_count is None else confirmed_count}."
        )
