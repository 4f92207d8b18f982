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


# --- Company admins -------------------------------------------------------------------------


class AdminAlreadyInCompany(AccountsError):
    """The address is already an active admin of this company."""

    def __init__(self, email: str):
        self.email = email
        super().__init__(f"{email} is already an admin of this company.")


class AdminEmailTaken(AccountsError):
    """The address already signs in to QA Portal as someone else's admin or as staff.

    Its message never says which company: an admin must not learn who else uses QA.
    """

    def __init__(self, email: str):
        self.email = email
        super().__init__(f"{email} already has a QA Portal admin account.")


class InvitationNotOpen(AccountsError):
    """The invitation was accepted or revoked: it cannot be re-sent, revoked or accepted."""

    def __init__(self, status: str):
        self.status = status
        super().__init__(f"The invitation is {status}.")


class InvitationNotUsable(AccountsError):
    """The link cannot be used: `status` is expired, accepted, revoked or invalid (unknown
    link, or one a re-send replaced)."""

    def __init__(self, status: str):
        self.status = status
        super().__init__(f"The invitation link is {status}.")


class LastAdmin(AccountsError):
    """Removing this admin would leave the company without one."""


class CannotRemoveYourself(AccountsError):
    """An admin cannot remove their own account; another admin must."""


class AdminNotFound(AccountsError):
    """No active admin of this company has that id."""


# --- Two-factor -----------------------------------------------------------------------------


class TwoFactorAlreadyEnabled(AccountsError):
    """The user already has a second factor; turn it off before setting up another."""


class InvalidCode(AccountsError):
    """The code is not a current code of the authenticator, nor an unused recovery code."""


class CodeThrottled(AccountsError):
    """Too many wrong codes in a row: the next code is checked after `retry_after` seconds."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(f"Too many wrong codes; try again in {retry_after} s.")
