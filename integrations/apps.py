from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from qaportal.accounts.dashboard import dashboard_section_register

        from . import checks  # noqa: F401 - registers the deployment checks
        from .dashboard import dashboard_context
        from .exports import tasks  # noqa: F401 - the export tasks, for the worker
        from .exports.activity import ACTIVITY_EXPORT_KIND
        from .exports.kinds import export_kind_register
        from .exports.people import PEOPLE_EXPORT_KIND

        export_kind_register(ACTIVITY_EXPORT_KIND)
        export_kind_register(PEOPLE_EXPORT_KIND)

        dashboard_section_register(
            slot="alerts",
            template_name="integrations/_dashboard_alerts.html",
            get_context=dashboard_context,
        )
        dashboard_section_register(
            slot="main",
            template_name="integrations/_dashboard_integrations.html",
            get_context=dashboard_context,
        )
        dashboard_section_register(
            slot="main",
            template_name="integrations/_dashboard_activity.html",
            get_context=dashboard_context,
        )
