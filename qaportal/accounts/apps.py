from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "qaportal.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .mixins import password_confirmed_on_sign_in

        # Key generation and revocation need a recent sign-in (RecentSignInRequiredMixin).
        user_logged_in.connect(
            password_confirmed_on_sign_in, dispatch_uid="accounts.password_confirmed_on_sign_in"
        )
