"""The ceiling: what plain Django does for Entra's requests on the same stack.

Same gunicorn, settings, middleware and database as the SCIM endpoint, with none of the SCIM
machinery: no bearer-key check, no activity-log row, no django-scim2 parsing or rendering.
Each view does the one lookup, insert or update the SCIM request needs and answers small JSON.
The company is taken from the URL because there is no key to take it from; this app is only
installed by `bench.settings` under QA_BENCH_CEILING=1.
"""

import json

from django.db import IntegrityError
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from qaportal.accounts.models import User

# The PATCH paths Entra sends in the bench's PATCH cycle, mapped to their model fields.
_PATCH_FIELDS = {
    "displayName": "display_name",
    "name.givenName": "given_name",
    "name.familyName": "family_name",
    "title": "title",
    "externalId": "external_id",
}


def _resource(user: User) -> dict:
    return {"id": str(user.scim_id), "userName": user.user_name}


@csrf_exempt
def users(request: HttpRequest, company_id: int) -> HttpResponse:
    """GET ?userName=<name>: the match lookup; POST: insert one learner."""
    if request.method == "GET":
        user_name = request.GET.get("userName", "").lower()
        found = list(
            User.objects.annotate(user_name_lower=Lower("user_name")).filter(
                company_id=company_id, user_name_lower=user_name
            )[:2]
        )
        return JsonResponse(
            {"totalResults": len(found), "Resources": [_resource(user) for user in found]}
        )
    if request.method != "POST":
        return HttpResponse(status=405)
    payload = json.loads(request.body)
    name = payload.get("name") or {}
    emails = payload.get("emails") or []
    work_email = next((e.get("value", "") for e in emails if e.get("type") == "work"), "")
    user = User(
        company_id=company_id,
        role=User.Role.LEARNER,
        user_name=payload["userName"],
        external_id=payload.get("externalId") or "",
        given_name=name.get("givenName") or "",
        family_name=name.get("familyName") or "",
        formatted_name=name.get("formatted") or "",
        display_name=payload.get("displayName") or "",
        emails=emails,
        work_email=work_email,
        is_active=payload.get("active", True) not in (False, "False", "false"),
    )
    user.set_unusable_password()
    try:
        user.save(force_insert=True)
    except IntegrityError:
        return JsonResponse({"status": "409", "scimType": "uniqueness"}, status=409)
    return JsonResponse(_resource(user), status=201)


@csrf_exempt
def user(request: HttpRequest, company_id: int, scim_id) -> HttpResponse:
    """PATCH: apply Replace/Add operations on plain attributes with one UPDATE."""
    if request.method != "PATCH":
        return HttpResponse(status=405)
    operations = json.loads(request.body).get("Operations", [])
    try:
        target = User.objects.get(company_id=company_id, scim_id=scim_id)
    except User.DoesNotExist:
        return JsonResponse({"status": "404"}, status=404)
    changed = []
    for operation in operations:
        field = _PATCH_FIELDS.get(operation.get("path", ""))
        if field is None or operation.get("op", "").lower() not in ("add", "replace"):
            return JsonResponse({"status": "400", "scimType": "invalidPath"}, status=400)
        setattr(target, field, operation.get("value") or "")
        changed.append(field)
    target.save(update_fields=[*changed, "updated_at"])
    return JsonResponse(_resource(target))
