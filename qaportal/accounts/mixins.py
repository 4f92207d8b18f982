"""Access rules of the portal pages."""

from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase


class CompanyAdminRequiredMixin(AccessMixin):
    """Let company admins in; send anonymous users to sign-in and refuse everyone else (403).

    Learners and staff are signed-in users too, so a redirect to sign-in would loop; they get
    403. Views behind this mixin read `request.user.company` and look every object up through a
    selector filtered on it, so another company's object is a 404 like a missing one.
    """

    permission_denied_message = "Only company admins can open this page."

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not request.user.is_company_admin:
            raise PermissionDenied(self.get_permission_denied_message())
        return super().dispatch(request, *args, **kwargs)
