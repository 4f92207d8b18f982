"""Forms of single sign-on: validation only."""

import uuid

from django import forms

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
    require_sso = forms.BooleanField(label="Require single sign-on for learners", required=False)

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
            self.add_error(
                "require_sso", "Turn on single sign-on before requiring it for learners."
            )
        return cleaned


class SsoStartForm(forms.Form):
    """The email typed on the sign-in page (its `username` field), and where to go after."""

    username = forms.EmailField(max_length=254)
    # Any length: an unsafe or odd `next` is dropped by the view, never an error.
    next = forms.CharField(required=False)

    error_messages = {"required": "Type your work email first, then choose Sign in with Microsoft."}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].error_messages["required"] = self.error_messages["required"]
        self.fields["username"].error_messages["invalid"] = (
            "Type a work email like name@company.com, then choose Sign in with Microsoft."
        )
