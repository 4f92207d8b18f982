"""Forms of single sign-on: validation only."""

import uuid
from urllib.parse import urlsplit

from django import forms
from django.utils.http import url_has_allowed_host_and_scheme

from .models import SsoConnection

GUID_HELP = "A GUID like 00000000-0000-0000-0000-000000000000, from the Entra admin center."


def _guid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise forms.ValidationError(
            f"Enter the {what} as Entra shows it: a GUID like "
            "00000000-0000-0000-0000-000000000000.",
            code="invalid_guid",
        ) from None


class SsoSettingsForm(forms.Form):
    """The Single sign-on section of the Microsoft Entra ID page.

    The secret field is never filled back in: left blank, the stored secret is kept.
    """

    tenant_id = forms.CharField(label="Directory (tenant) ID", max_length=64, help_text=GUID_HELP)
    client_id = forms.CharField(label="Application (client) ID", max_length=64, help_text=GUID_HELP)
    client_secret = forms.CharField(
        label="Client secret value",
        max_length=512,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    is_enabled = forms.BooleanField(label="Turn on single sign-on", required=False)
    require_sso = forms.BooleanField(label="Require single sign-on for people", required=False)

    def __init__(self, *args, connection: SsoConnection | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.connection = connection
        has_secret = bool(connection and connection.client_secret_encrypted)
        self.fields["client_secret"].help_text = (
            f"Stored encrypted; it starts with {connection.client_secret_hint}… and is never "
            "shown again. Leave blank to keep it, or paste a new secret's Value."
            if has_secret
            else "The secret's Value (not its Secret ID), from Certificates & secrets."
        )

    def clean_tenant_id(self) -> str:
        return _guid(self.cleaned_data["tenant_id"], "directory (tenant) ID")

    def clean_client_id(self) -> str:
        return _guid(self.cleaned_data["client_id"], "application (client) ID")

    def clean(self) -> dict:
        cleaned = super().clean()
        has_secret = bool(self.connection and self.connection.client_secret_encrypted)
        if not cleaned.get("client_secret") and not has_secret:
            self.add_error("client_secret", "Paste the client secret's Value from Entra.")
        if cleaned.get("require_sso") and not cleaned.get("is_enabled"):
            self.add_error("require_sso", "Turn on single sign-on before requiring it for people.")
        return cleaned


# Longer `next` values are dropped: no page of the portal needs one, and each is kept in the
# session until the sign-in ends.
MAX_NEXT_LENGTH = 512


def local_path_or_blank(value: str) -> str:
    """`value` if it is a path of this site ("/teams/?page=2"), else "".

    No scheme, no host (not even this one), no protocol-relative "//host" or "/\\host", no
    control characters, at most MAX_NEXT_LENGTH characters: where a sign-in may send the person
    afterwards, so never anywhere else.
    """
    if not value or len(value) > MAX_NEXT_LENGTH or not value.startswith("/"):
        return ""
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in value):
        return ""
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=set()):
        return ""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return ""
    return value


class _NextField(forms.CharField):
    """Where to go after signing in: a local path, or blank. An unsafe or odd value is dropped,
    never an error (the field comes from a link anyone can write)."""

    def __init__(self) -> None:
        super().__init__(required=False, strip=True)

    def clean(self, value: object) -> str:
        return local_path_or_blank(super().clean(value))


class SsoStartForm(forms.Form):
    """The email typed on the sign-in page (its `username` field), and where to go after."""

    username = forms.EmailField(max_length=254)
    next = _NextField()

    error_messages = {"required": "Type your work email first, then choose Sign in with Microsoft."}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].error_messages["required"] = self.error_messages["required"]
        self.fields["username"].error_messages["invalid"] = (
            "Type a work email like name@company.com, then choose Sign in with Microsoft."
        )


class SsoLinkSignInForm(forms.Form):
    """A company's sign-in link: the email is optional (Microsoft asks for it if it is blank)."""

    username = forms.EmailField(
        label="Work email (optional)",
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="Microsoft fills it in for you on its page.",
    )
    next = _NextField()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].error_messages["invalid"] = (
            "Type a work email like name@company.com, or leave it blank."
        )
