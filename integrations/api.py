"""The admin-automation API (Django REST framework) under /api/v1/, for company admins.

Signed-in sessions only, with CSRF on every unsafe method (SessionAuthentication); there is no
bearer scheme here, so a SCIM API key is never a credential of this API, and the SCIM endpoint
ignores sessions, so this API's credentials never reach SCIM. Every object is looked up through
a selector filtered on `request.user.company`: another company's object is a 404 like a missing
one. Views parse input, call one service or selector and serialise; errors are translated once,
in `api_exception_handler`.
"""

import re
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.core.validators import RegexValidator
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from qaportal.accounts.mixins import client_ip_address, sign_in_is_recent
from qaportal.accounts.selectors import learner_list, team_overview_list

from .exceptions import ApiKeyNotRevocable
from .models import ApiKey, Integration, ProvisioningEvent
from .selectors.activity import ActivityFilter, provisioning_event_list
from .selectors.health import connection_health_get
from .selectors.keys import (
    IntegrationOverview,
    api_key_list,
    integration_get,
    integration_overview_list,
)
from .services import api_key_generate, api_key_revoke
from .wording import RESOURCE_TYPES, activity_summary

# --- Access, pagination and errors, shared by every endpoint -----------------------------------


class IsCompanyAdmin(BasePermission):
    """Signed-in company admins only; learners and QA staff are refused (403)."""

    message = "Only company admins can use this API."

    def has_permission(self, request: Request, view: object) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_company_admin)


class HasRecentSignIn(BasePermission):
    """The session's password was entered within QA_REAUTH_MAX_AGE (as for the portal's
    Generate and Revoke buttons), so a stolen or forgotten session cannot change keys.

    There is no re-authentication endpoint in the API: the admin confirms their password in
    the portal ("Confirm your password"), which refreshes the same session.
    """

    message = (
        "Confirm your password in QA Portal first: generating or revoking a key needs a "
        "sign-in from the last few minutes."
    )
    code = "reauthentication_required"

    def has_permission(self, request: Request, view: object) -> bool:
        return sign_in_is_recent(request)


def _parse_position(value: str) -> datetime | None:
    return parse_datetime(value)


class NewestFirstCursorPagination(CursorPagination):
    """Opaque cursors over (-created_at, -id): stable while new rows arrive, index-backed."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    # Parses the position a cursor carries; a forged cursor whose position does not parse is
    # an invalid cursor (404), not a database error.
    position_parser: Callable[[str], object] = staticmethod(_parse_position)

    def get_page_size(self, request: Request) -> int:
        # Strict, unlike DRF's default (which ignores a bad value): a script that asks for
        # 0.5 or 10,000 rows learns it at once instead of silently getting 50.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(
                    minimum=1, maximum=self.max_page_size, default=self.page_size
                )
        return parameters

    def decode_cursor(self, request: Request) -> Cursor | None:
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                parsed = self.position_parser(cursor.position)
            except (TypeError, ValueError, OverflowError):
                parsed = None
            if parsed is None:
                raise exceptions.NotFound(self.invalid_cursor_message)
        return cursor


def _parse_id(value: str) -> int | None:
    number = int(value)
    return number if 0 <= number < 2**63 else None


class IdCursorPagination(NewestFirstCursorPagination):
    """Cursors in creation order by id, for people and teams."""

    ordering = ("id",)
    position_parser = staticmethod(_parse_id)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the object."
    default_code = "conflict"


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, plus the domain errors of the integrations app (translated once here)."""
    if isinstance(exc, ApiKeyNotRevocable):
        exc = Conflict(detail=str(exc), code="not_revocable")
    return exception_handler(exc, context)


def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """The JSON 404 of a URL under /api/v1/ that matches no endpoint."""
    return JsonResponse({"detail": "Not found."}, status=404)


class CompanyAdminApi(APIView):
    """Base of every endpoint: session + CSRF, company admins only."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsCompanyAdmin]


class CompanyIntegrationApi(CompanyAdminApi):
    """An endpoint under /integrations/<provider>/: the admin's company's integration, as
    `self.integration`, looked up once access is granted; another company's is a 404."""

    integration: Integration

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        integration = integration_get(company=request.user.company, provider=kwargs["provider"])
        if integration is None:
            raise exceptions.NotFound()
        self.integration = integration


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


_ERRORS = {
    403: OpenApiResponse(ErrorSerializer, description="Not signed in as a company admin."),
}
_ERRORS_RECENT = {
    403: OpenApiResponse(
        ErrorSerializer,
        description="Not signed in as a company admin, or the sign-in is not recent.",
    ),
}
_NOT_FOUND = {404: OpenApiResponse(ErrorSerializer, description="No such object here.")}
_BAD_CURSOR = {404: OpenApiResponse(ErrorSerializer, description="Invalid cursor.")}
_PROVIDER = OpenApiParameter(
    "provider",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    enum=Integration.Provider.values,
    description="The identity provider of the integration.",
)
_BAD_FILTER = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid filter values or page size.")
}
_BAD_PAGE_SIZE = {400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid page size.")}


# --- Keys ---------------------------------------------------------------------------------------


class ApiKeyOutputSerializer(serializers.Serializer):
    """A key as the keys table shows it; never its secret. `status` is by the clock."""

    id = serializers.IntegerField(source="pk")
    prefix = serializers.CharField()
    masked = serializers.CharField()
    status = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    created_by = serializers.SerializerMethodField()
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(serializers.ChoiceField(choices=ApiKey.Status.choices))
    def get_status(self, api_key: ApiKey) -> str:
        return api_key.status_at(self.context.get("now") or timezone.now())

    @extend_schema_field(serializers.EmailField(allow_null=True))
    def get_created_by(self, api_key: ApiKey) -> str | None:
        return api_key.created_by.email if api_key.created_by else None


class ApiKeyListApi(CompanyIntegrationApi):
    """The integration's keys, newest first."""

    pagination_class = NewestFirstCursorPagination

    @extend_schema(
        operation_id="api_keys_list",
        parameters=[_PROVIDER],
        tags=["keys"],
        responses={
            200: ApiKeyOutputSerializer(many=True),
            **_BAD_PAGE_SIZE,
            **_ERRORS,
            404: OpenApiResponse(
                ErrorSerializer, description="No such integration, or an invalid cursor."
            ),
        },
    )
    def get(self, request: Request, provider: str) -> Response:
        keys = api_key_list(company=request.user.company, integration=self.integration)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(keys, request, view=self)
        serializer = ApiKeyOutputSerializer(page, many=True, context={"now": timezone.now()})
        return paginator.get_paginated_response(serializer.data)


class ApiKeyGenerateApi(CompanyIntegrationApi):
    """Generate a key; the current key enters its grace period (never extended).

    The response is the only place the key's plaintext ever appears (`Cache-Control:
    no-store`): paste `secret_token` into Microsoft Entra ID as the Secret Token. Needs a
    recent sign-in, like the portal's button.
    """

    permission_classes = [IsCompanyAdmin, HasRecentSignIn]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "GeneratedApiKey"

        secret_token = serializers.CharField(help_text="The new key. Shown once, never again.")
        key = ApiKeyOutputSerializer()

    @extend_schema(
        operation_id="api_keys_generate",
        parameters=[_PROVIDER],
        tags=["keys"],
        request=None,
        responses={201: OutputSerializer, **_ERRORS_RECENT, **_NOT_FOUND},
    )
    @sensitive_variables("generated")
    def post(self, request: Request, provider: str) -> Response:
        integration = self.integration
        generated = api_key_generate(
            integration=integration, created_by=request.user, ip_address=client_ip_address(request)
        )
        body = self.OutputSerializer(
            {"secret_token": generated.plaintext, "key": generated.api_key},
            context={"now": timezone.now()},
        ).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class ApiKeyRevokeApi(CompanyIntegrationApi):
    """Revoke a key at once; requests that use it are refused from then on.

    Needs a recent sign-in, like the portal's button.
    """

    permission_classes = [IsCompanyAdmin, HasRecentSignIn]

    @extend_schema(
        operation_id="api_keys_revoke",
        parameters=[_PROVIDER],
        tags=["keys"],
        request=None,
        responses={
            200: ApiKeyOutputSerializer,
            **_ERRORS_RECENT,
            **_NOT_FOUND,
            409: OpenApiResponse(ErrorSerializer, description="Already revoked or expired."),
        },
    )
    def post(self, request: Request, provider: str, key_id: int) -> Response:
        keys = api_key_list(company=request.user.company, integration=self.integration)
        api_key = get_object_or_404(keys, pk=key_id)
        api_key = api_key_revoke(
            api_key=api_key, revoked_by=request.user, ip_address=client_ip_address(request)
        )
        return Response(ApiKeyOutputSerializer(api_key, context={"now": timezone.now()}).data)


# --- Integrations -------------------------------------------------------------------------------


class FailureReasonSerializer(serializers.Serializer):
    status_code = serializers.IntegerField()
    scim_type = serializers.CharField()
    detail = serializers.CharField()
    count = serializers.IntegerField()


class ConnectionHealthSerializer(serializers.Serializer):
    """What the health card shows, judged by the requests that actually arrived."""

    state = serializers.ChoiceField(
        choices=["not_connected", "waiting", "connected", "failing", "expired_key"]
    )
    last_request_at = serializers.DateTimeField(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)
    recent_count = serializers.IntegerField()
    recent_failed_count = serializers.IntegerField()
    top_reason = FailureReasonSerializer(allow_null=True)
    rejected_key = serializers.CharField(
        source="rejected_key.masked", allow_null=True, default=None
    )
    rejected_at = serializers.DateTimeField(allow_null=True)
    key_in_use = serializers.ChoiceField(
        choices=["", "old", "new", "both", "none"],
        help_text="During a grace period, which key Microsoft Entra ID sends.",
    )


class IntegrationOutputSerializer(serializers.Serializer):
    provider = serializers.CharField(source="integration.provider")
    name = serializers.CharField(source="integration.get_provider_display")
    tenant_url = serializers.SerializerMethodField()
    state = serializers.ChoiceField(choices=["not_connected", "active", "expiring"])
    current_key = ApiKeyOutputSerializer(allow_null=True)
    expiring_keys = ApiKeyOutputSerializer(many=True)
    next_deadline = serializers.DateTimeField(allow_null=True)
    health = serializers.SerializerMethodField()

    def get_tenant_url(self, overview: IntegrationOverview) -> str:
        return self.context["request"].build_absolute_uri(f"/{settings.SCIM_BASE_PATH}")

    @extend_schema_field(ConnectionHealthSerializer)
    def get_health(self, overview: IntegrationOverview) -> dict:
        health = connection_health_get(
            company=overview.integration.company, overview=overview, now=self.context["now"]
        )
        return ConnectionHealthSerializer(health).data


def _integration_serializer(
    request: Request, overviews: list[IntegrationOverview], *, many: bool
) -> IntegrationOutputSerializer:
    context = {"request": request, "now": timezone.now()}
    return IntegrationOutputSerializer(
        overviews if many else overviews[0], many=many, context=context
    )


class IntegrationListApi(CompanyAdminApi):
    """The company's integrations, each with its keys in use and its connection health."""

    @extend_schema(
        operation_id="integrations_list",
        tags=["integrations"],
        responses={200: IntegrationOutputSerializer(many=True), **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        overviews = integration_overview_list(company=request.user.company, now=timezone.now())
        return Response(_integration_serializer(request, overviews, many=True).data)


class IntegrationDetailApi(CompanyIntegrationApi):
    """One integration's status: keys in use, next deadline and connection health."""

    @extend_schema(
        operation_id="integrations_retrieve",
        parameters=[_PROVIDER],
        tags=["integrations"],
        responses={200: IntegrationOutputSerializer, **_ERRORS, **_NOT_FOUND},
    )
    def get(self, request: Request, provider: str) -> Response:
        integration = self.integration
        overviews = [
            overview
            for overview in integration_overview_list(
                company=request.user.company, now=timezone.now()
            )
            if overview.integration.pk == integration.pk
        ]
        return Response(_integration_serializer(request, overviews, many=False).data)


# --- Provisioning activity ----------------------------------------------------------------------


class ProvisioningEventListApi(CompanyAdminApi):
    """The company's SCIM requests, newest first, with the activity page's filters."""

    pagination_class = NewestFirstCursorPagination

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ActivityFilter"

        outcome = serializers.ChoiceField(
            choices=ProvisioningEvent.Outcome.choices, required=False, allow_blank=True
        )
        operation = serializers.ChoiceField(
            choices=ProvisioningEvent.Operation.choices,
            required=False,
            allow_blank=True,
        )
        resource_type = serializers.ChoiceField(
            choices=sorted(RESOURCE_TYPES), required=False, allow_blank=True
        )
        search = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=256,
            # DRF refuses NUL characters (PostgreSQL cannot store or compare them); the
            # pattern says so in the schema.
            validators=[RegexValidator(r"^[^\x00]+$", message="Null characters are not allowed.")],
            help_text="Any part of a userName or group displayName, in any case.",
        )

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ProvisioningEvent"

        id = serializers.IntegerField()
        created_at = serializers.DateTimeField()
        summary = serializers.SerializerMethodField()
        method = serializers.CharField()
        path = serializers.CharField()
        operation = serializers.CharField()
        resource_type = serializers.CharField()
        resource_id = serializers.CharField()
        resource_name = serializers.CharField()
        status_code = serializers.IntegerField()
        outcome = serializers.ChoiceField(choices=ProvisioningEvent.Outcome.choices)
        scim_type = serializers.CharField()
        detail = serializers.CharField(help_text="A failure's error detail; empty on success.")
        changes = serializers.JSONField(
            help_text="What a successful change did: `attributes` (each with `name`, `old`, "
            "`new`), `members` (`added` and `removed`, each a `count` and up to 50 `ids`, and "
            "`replaced`) and `skipped` references; {} for reads and failures."
        )
        duration_ms = serializers.IntegerField()
        key = serializers.CharField(source="api_key.masked", allow_null=True, default=None)

        def get_summary(self, event: ProvisioningEvent) -> str:
            return activity_summary(event)

    @extend_schema(
        operation_id="activity_list",
        tags=["activity"],
        parameters=[FilterSerializer],
        responses={
            200: OutputSerializer(many=True),
            **_BAD_FILTER,
            **_ERRORS,
            **_BAD_CURSOR,
        },
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        events = provisioning_event_list(
            company=request.user.company, filters=ActivityFilter(**filters.validated_data)
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


# --- Provisioned people and teams ---------------------------------------------------------------


class ProvisionedUserListApi(CompanyAdminApi):
    """The people Microsoft Entra ID provisioned into the company (the portal's People), in
    creation order. SCIM calls them users."""

    pagination_class = IdCursorPagination

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ProvisionedUser"

        id = serializers.UUIDField(source="scim_id", help_text="The SCIM id.")
        user_name = serializers.CharField()
        external_id = serializers.CharField()
        display_name = serializers.CharField()
        given_name = serializers.CharField()
        family_name = serializers.CharField()
        work_email = serializers.CharField()
        is_active = serializers.BooleanField()
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="users_list",
        tags=["directory"],
        responses={200: OutputSerializer(many=True), **_BAD_PAGE_SIZE, **_ERRORS, **_BAD_CURSOR},
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        users = learner_list(company=request.user.company)
        page = paginator.paginate_queryset(users, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)


class ProvisionedGroupListApi(CompanyAdminApi):
    """The teams Microsoft Entra ID provisioned into the company (SCIM groups), with member
    counts."""

    pagination_class = IdCursorPagination

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ProvisionedGroup"

        id = serializers.UUIDField(source="scim_id", help_text="The SCIM id.")
        display_name = serializers.CharField()
        external_id = serializers.CharField()
        member_count = serializers.IntegerField()
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="groups_list",
        tags=["directory"],
        responses={200: OutputSerializer(many=True), **_BAD_PAGE_SIZE, **_ERRORS, **_BAD_CURSOR},
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        groups = team_overview_list(company=request.user.company, preview_size=0)
        page = paginator.paginate_queryset(groups, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)
