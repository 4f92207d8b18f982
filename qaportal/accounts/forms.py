"""Forms of the accounts pages: validation only."""

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest


class SignInForm(AuthenticationForm):
    """Email + password sign-in of company admins.

    The error is the same for a wrong password, an unknown email and a deactivated account
    (ModelBackend refuses is_active=False), so the form never tells whether an account exists.
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
    }


class PasswordConfirmForm(forms.Form):
    """The signed-in user's password again, before a sensitive action.

    The check goes through `authenticate()` with the request, so django-axes counts a wrong
    password here like one at sign-in: a stolen session cannot guess the password freely.
    """

    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autofocus": True, "autocomplete": "current-password"}),
    )

    error_messages = {"invalid_password": "That password is not correct."}

    def __init__(self, *args, request: HttpRequest, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        user = self.request.user
        confirmed = authenticate(self.request, username=user.get_username(), password=password)
        if confirmed is None or confirmed.pk != user.pk:
            raise forms.ValidationError(
                self.error_messages["invalid_password"], code="invalid_password"
            )
        return password
