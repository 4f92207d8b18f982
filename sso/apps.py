from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "sso"
    verbose_name = "Single sign-on"

    def ready(self) -> None:
        from integrations.models import Integration
        from integrations.sections import integration_section_register
        from qaportal.accounts.sign_in import sign_in_option_register

        from . import checks  # noqa: F401 - registers the system checks
        from .views import sso_section_context

        # sso builds on integrations and accounts, which must not import it back: it adds its
        # section to the Microsoft Entra ID page and its button to the sign-in page here.
        integration_section_register(
            provider=Integration.Provider.ENTRA_ID,
            template_name="sso/_integration_section.html",
            get_context=sso_section_context,
        )
        sign_in_option_register(template_name="sso/_sign_in_option.html")
