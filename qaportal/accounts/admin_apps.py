"""Django admin's app config, pointing at QA Portal's admin site (its own module, so that
INSTALLED_APPS can name it without importing models)."""

from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    """Django admin on StaffAdminSite: staff sign in through the portal's sign-in (password,
    then the second factor of those who have one)."""

    default_site = "qaportal.accounts.admin_site.StaffAdminSite"
