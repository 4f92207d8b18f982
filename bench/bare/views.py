"""The bare endpoint: Entra's three requests, each one ORM statement, small JSON answers."""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .models import BareUser


@csrf_exempt
def users(request: HttpRequest) -> HttpResponse:
    """GET ?userName=<name>: a lookup by the unique column; POST: insert one row (201)."""
    if request.method == "GET":
        found = list(
            BareUser.objects.filter(user_name=request.GET.get("userName", "")).values_list(
                "id", "user_name"
            )[:2]
        )
        return JsonResponse([{"id": pk, "userName": name} for pk, name in found], safe=False)
    if request.method != "POST":
        return HttpResponse(status=405)
    body = json.loads(request.body)
    user = BareUser.objects.create(user_name=body["userName"], body=body)
    return JsonResponse({"id": user.pk, "userName": user.user_name}, status=201)


@csrf_exempt
def user(request: HttpRequest, user_name: str) -> HttpResponse:
    """PATCH: load the row by its unique name, replace the body's attributes, one UPDATE."""
    if request.method != "PATCH":
        return HttpResponse(status=405)
    operations = json.loads(request.body).get("Operations", [])
    try:
        row = BareUser.objects.get(user_name=user_name)
    except BareUser.DoesNotExist:
        return JsonResponse({"status": "404"}, status=404)
    for operation in operations:
        row.body[operation.get("path", "")] = operation.get("value")
    row.save(update_fields=["body"])
    return JsonResponse({"id": row.pk, "userName": row.user_name})
