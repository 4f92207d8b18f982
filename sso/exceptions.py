from enum import Enum


class RefusalReason(Enum):
    """Why a Microsoft sign-in was refused: what the activity log records and the page says."""

    # value: (activity-log code, what the person is told); ADMIN_TEXT: what the admin reads
    STATE_INVALID = (
        "state_invalid",
        "This sign-in link was already used or has expired. Start again from the sign-in page.",
    )
    PROVIDER_ERROR = (
        "provider_error",
        "Microsoft did not sign you in. Try again, or ask your administrator.",
    )
    PROVIDER_UNREACHABLE = (
        "provider_unreachable",
        "Microsoft could not be reached to finish signing you in. Try again in a few minutes.",
    )
    TOKEN_INVALID = (
        "token_invalid",
        "Microsoft's answer could not be verified, so you were not signed in.",
    )
    WRONG_ISSUER = (
        "wrong_issuer",
        "You signed in to a different Microsoft Entra directory than your company's.",
    )
    WRONG_AUDIENCE = (
        "wrong_audience",
        "Microsoft's answer was meant for another application, so you were not signed in.",
    )
    EXPIRED = (
        "token_expired",
        "Microsoft's answer had expired. Start again from the sign-in page.",
    )
    BAD_SIGNATURE = (
        "bad_signature",
        "Microsoft's answer could not be verified, so you were not signed in.",
    )
    UNKNOWN_USER = (
        "unknown_user",
        "Your Microsoft account has no QA account in this company. Ask your administrator to "
        "assign you to the QA application in Microsoft Entra ID.",
    )
    DEACTIVATED_USER = (
        "deactivated_user",
        "Your QA account has been deactivated. Ask your administrator if you need access.",
    )
    SSO_OFF = (
        "sso_off",
        "Single sign-on is switched off for your company. Ask your administrator.",
    )
    MISCONFIGURED = (
        "misconfigured",
        "Single sign-on for your company is not set up correctly. Ask your administrator to "
        "check the Single sign-on settings in QA Portal.",
    )

    @property
    def admin_text(self) -> str:
        return ADMIN_TEXT[self.name]

    @property
    def code(self) -> str:
        return self.value[0]

    @property
    def message(self) -> str:
        return self.value[1]


# Why a sign-in was refused, as the company admin reads it in the activity log.
ADMIN_TEXT = {
    "STATE_INVALID": "The sign-in link was already used, expired or came from another browser.",
    "PROVIDER_ERROR": (
        "Microsoft Entra ID answered with an error: the person cancelled, or the app "
        "registration or its client secret is wrong."
    ),
    "PROVIDER_UNREACHABLE": "Microsoft Entra ID could not be reached.",
    "TOKEN_INVALID": "The ID token was malformed or its nonce did not match.",
    "WRONG_ISSUER": (
        "The ID token came from another Entra directory (tenant) than the one configured."
    ),
    "WRONG_AUDIENCE": "The ID token was issued to another application (client) ID.",
    "EXPIRED": "The ID token had expired.",
    "BAD_SIGNATURE": "The ID token's signature did not verify with the tenant's published keys.",
    "UNKNOWN_USER": (
        "No user provisioned to this company matches the Microsoft account (objectId or "
        "userPrincipalName)."
    ),
    "DEACTIVATED_USER": "The user is deactivated in QA (Entra set active to false).",
    "SSO_OFF": "Single sign-on was switched off while the sign-in was under way.",
    "MISCONFIGURED": "The stored client secret cannot be decrypted with the configured keys.",
}


class SignInRefused(Exception):
    """A Microsoft sign-in that must not sign anyone in; `claims` are known once verified."""

    def __init__(self, reason: RefusalReason, *, claims: dict | None = None) -> None:
        super().__init__(reason.code)
        self.reason = reason
        self.claims = claims or {}
