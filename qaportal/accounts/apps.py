from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "qaportal.accounts"
    label = "accounts"
    verbose_name = "Accounts"
