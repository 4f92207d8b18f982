"""Forms of the accounts pages: validation only."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordMixin
from django.http import HttpRequest

from .models import User
from .throttles import account_attempt_wait, account_failure_record, known_device_has


class SignInForm(AuthenticationForm):
    """Email + password sign-in of company admins and staff.

    The error is the same for a wrong password, an unknown email and a deactivated account
    (ModelBackend refuses is_active=False), so the form never tells whether an account exists.
    Before the password is checked, the per-account slow-down may refuse the attempt
    (`account_slowed`, with `retry_after` seconds): known and unknown emails alike.
    """

    username = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an active account.",
        "account_slowed": (
            "There have been many wrong passwords for this account, so each attempt has to "
            "wait. Try again in %(seconds)s seconds, or reset your password."
        ),
    }

    retry_after: int = 0
    # True when this wrong password made the account's owner due a warning email.
    owner_warning_due: bool = False

    def clean(self) -> dict:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email and password:
            email = User.objects.normalize_sign_in_email(email)
            wait = account_attempt_wait(
                email=email, known_device=known_device_has(self.request, email)
            )
            if wait:
                self.retry_after = wait
                raise forms.ValidationError(
                    self.error_messages["account_slowed"],
                    code="account_slowed",
                    params={"seconds": wait},
                )
        try:
            return super().clean()
        except forms.ValidationError as error:
            if email and password and error.code == "invalid_login":
                self.owner_warning_due = account_failure_record(email=email)
            raise


class SignInCodeForm(forms.Form):
    """The second step of signing in: a code of the authenticator app, or a recovery code."""

    code = forms.CharField(
        label="Authentication code",
        max_length=32,
        help_text="The 6-digit code your authenticator app shows, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "spellcheck": "false",
                "aria-describedby": "id_code_helptext",
            }
        ),
    )


class PasswordConfirmForm(forms.Form):
    """The signed-in user's password again, and a code if they have two-factor, before a
    sensitive action.

    The password is checked against the user's own hash, not through `authenticate()`: a typo
    here is not a sign-in attempt and never counts toward the sign-in lockout. The page has a
    limit of its own (QA_CONFIRM_FAILURE_LIMIT per session). The code is checked by the view
    (a service: it uses the code up and throttles wrong ones).
    """

    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autofocus": True, "autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label="Authentication code",
        max_length=32,
        required=False,
        help_text="The 6-digit code your authenticator app shows, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "spellcheck": "false",
                "aria-describedby": "id_code_helptext",
            }
        ),
    )

    error_messages = {
        "invalid_password": "That password is not correct.",
        "code_required": "Enter a code from your authenticator app, or a recovery code.",
    }

    def __init__(self, *args, request: HttpRequest, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.asks_for_code = bool(request.user.has_two_factor)
        if not self.asks_for_code:
            del self.fields["code"]

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.request.user.check_password(password):
            raise forms.ValidationError(
                self.error_messages["invalid_password"], code="invalid_password"
            )
        return password

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data.get("code", "").split())
        if not code:
            raise forms.ValidationError(self.error_messages["code_required"], code="required")
        return code


PASSWORD_HELP = (
    "At least 8 characters, not a common password, not only digits, and not like your email."  # noqa: S105 - help text
)


class PasswordResetRequestForm(forms.Form):
    """The address to send a reset link to: nothing else, whatever exists."""

    email = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


class NewPasswordForm(SetPasswordMixin, forms.Form):
    """A new password, twice, checked by AUTH_PASSWORD_VALIDATORS against `user` (field
    errors). Validation only: a service sets the password (this form has no save())."""

    new_password1, new_password2 = SetPasswordMixin.create_password_fields(
        label1="New password", label2="Type it again"
    )

    def __init__(self, user: User, *args, **kwargs) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = PASSWORD_HELP
        self.fields["new_password2"].help_text = ""

    def clean(self) -> dict:
        self.validate_passwords("new_password1", "new_password2")
        self.validate_password_for_user(self.user, "new_password2")
        return super().clean()


class InvitationAcceptForm(NewPasswordForm):
    """The invitee's new password, twice, checked against their email too."""

    def __init__(self, *args, email: str, **kwargs) -> None:
        # Not saved: the validators compare the password with the invitee's email.
        super().__init__(User(email=email), *args, **kwargs)
        self.fields["new_password1"].label = "Choose a password"


class TwoFactorCodeForm(forms.Form):
    """A code from the authenticator being set up."""

    code = forms.CharField(
        label="Code from your app",
        max_length=16,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "spellcheck": "false",
            }
        ),
    )


class TwoFactorChangeForm(forms.Form):
    """Password and a current code, before two-factor is turned off or the recovery codes are
    replaced. The password is checked here; the code by the view (a service)."""

    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label="Authentication code",
        max_length=32,
        help_text="From your authenticator app, or a recovery code.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That password is not correct.", code="invalid_password")
        return password
