"""Discovery documents (RFC 7643 §5-§7): what this server really supports and stores.

The schemas list only attributes that are stored and returned; camelCase values and no nulls
(docs/entra-behaviour.md).
"""

from urllib.parse import urljoin

from django.http import HttpRequest
from django.urls import reverse

from .adapters import base_location
from .constants import (
    ENTERPRISE_USER_URN,
    GROUP_URN,
    MAX_PAYLOAD_BYTES,
    MAX_RESULTS,
    SERVICE_PROVIDER_CONFIG_URN,
    USER_URN,
)


def _attribute(
    name: str,
    description: str,
    *,
    type_: str = "string",
    multi: bool = False,
    required: bool = False,
    case_exact: bool = False,
    mutability: str = "readWrite",
    returned: str = "default",
    uniqueness: str = "none",
    sub: list[dict] | None = None,
    reference_types: list[str] | None = None,
    canonical_values: list[str] | None = None,
) -> dict:
    doc = {
        "name": name,
        "type": type_,
        "multiValued": multi,
        "description": description,
        "required": required,
        "mutability": mutability,
        "returned": returned,
    }
    if type_ in ("string", "reference"):
        doc["caseExact"] = case_exact
        doc["uniqueness"] = uniqueness
    if sub:
        doc["subAttributes"] = sub
    if reference_types:
        doc["referenceTypes"] = reference_types
    if canonical_values:
        doc["canonicalValues"] = canonical_values
    return doc


def _typed_values(kind: str, types: list[str]) -> list[dict]:
    return [
        _attribute("value", f"The {kind}, stored as sent."),
        _attribute("display", "A human-readable name."),
        _attribute(
            "type", f"The kind of {kind}; unique within the attribute.", canonical_values=types
        ),
        _attribute("primary", "Whether this is the primary value.", type_="boolean"),
    ]


def _reference(description: str, resource: str, mutability: str = "readOnly") -> list[dict]:
    return [
        _attribute("value", f"The id of the {resource}.", mutability=mutability),
        _attribute(
            "$ref",
            f"The URI of the {resource}.",
            type_="reference",
            reference_types=[resource],
            mutability=mutability,
        ),
        _attribute("display", description, mutability="readOnly"),
    ]


USER_SCHEMA = {
    "id": USER_URN,
    "name": "User",
    "description": "User Account",
    "attributes": [
        _attribute(
            "userName",
            "Unique identifier of the user in the company, compared case-insensitively.",
            required=True,
            uniqueness="server",
        ),
        _attribute("externalId", "The provisioning client's identifier.", case_exact=True),
        _attribute(
            "name",
            "The components of the user's name.",
            type_="complex",
            sub=[
                _attribute("formatted", "The full name."),
                _attribute("familyName", "The family name."),
                _attribute("givenName", "The given name."),
            ],
        ),
        _attribute("displayName", "The name displayed to end users."),
        _attribute("nickName", "The casual name."),
        _attribute("title", "The job title."),
        # Required: every account is active or not. A POST without it gets true (Entra
        # always maps it); removing it is refused with 400 mutability.
        _attribute(
            "active",
            "Whether the user may sign in; true when a create omits it.",
            type_="boolean",
            required=True,
        ),
        _attribute(
            "emails",
            "Email addresses.",
            type_="complex",
            multi=True,
            sub=_typed_values("email address", ["work", "home", "other"]),
        ),
        _attribute(
            "phoneNumbers",
            "Phone numbers.",
            type_="complex",
            multi=True,
            sub=_typed_values("phone number", ["work", "home", "mobile", "fax", "pager", "other"]),
        ),
        _attribute(
            "addresses",
            "Physical mailing addresses.",
            type_="complex",
            multi=True,
            sub=[
                _attribute("formatted", "The full address."),
                _attribute("streetAddress", "The street address."),
                _attribute("locality", "The city or locality."),
                _attribute("region", "The state or region."),
                _attribute("postalCode", "The postal code."),
                _attribute("country", "The country."),
                _attribute(
                    "type", "The kind of address.", canonical_values=["work", "home", "other"]
                ),
                _attribute("primary", "Whether this is the primary address.", type_="boolean"),
            ],
        ),
        _attribute(
            "groups",
            "The teams the user belongs to (read-only; change them through Groups).",
            type_="complex",
            multi=True,
            mutability="readOnly",
            sub=[
                *_reference("The team's name.", "Group"),
                _attribute("type", "Always direct.", mutability="readOnly"),
            ],
        ),
    ],
}

ENTERPRISE_USER_SCHEMA = {
    "id": ENTERPRISE_USER_URN,
    "name": "EnterpriseUser",
    "description": "Enterprise User",
    "attributes": [
        _attribute("employeeNumber", "The employee number."),
        _attribute("department", "The department."),
        _attribute(
            "manager",
            "The user's manager, another user of the same company.",
            type_="complex",
            sub=_reference("The manager's display name.", "User", mutability="readWrite")[:2],
        ),
    ],
}

GROUP_SCHEMA = {
    "id": GROUP_URN,
    "name": "Group",
    "description": "Group",
    "attributes": [
        _attribute(
            "displayName",
            "The team's name, unique in the company (case-insensitively).",
            required=True,
            uniqueness="server",
        ),
        _attribute("externalId", "The provisioning client's identifier.", case_exact=True),
        _attribute(
            "members",
            "The team's members (users of the same company).",
            type_="complex",
            multi=True,
            sub=[
                _attribute("value", "The id of the user.", mutability="immutable"),
                _attribute(
                    "$ref",
                    "The URI of the user.",
                    type_="reference",
                    reference_types=["User"],
                    mutability="immutable",
                ),
                _attribute("display", "The user's display name.", mutability="readOnly"),
                _attribute(
                    "type", "Always User.", mutability="immutable", canonical_values=["User"]
                ),
            ],
        ),
    ],
}

SCHEMAS = [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA]


def schema_document(schema: dict, request: HttpRequest) -> dict:
    location = urljoin(
        base_location(request), reverse("scim:schemas", kwargs={"uuid": schema["id"]})
    )
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        **schema,
        "meta": {"resourceType": "Schema", "location": location},
    }


AUTHENTICATION_SCHEMES = [
    {
        "type": "oauthbearertoken",
        "name": "OAuth Bearer Token",
        "description": "Authentication with the API key generated in QA Portal "
        "(Settings & Integrations > Microsoft Entra ID), sent as a bearer token.",
        "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
        "primary": True,
    }
]


class ServiceProviderConfig:
    """The features this server really has (RFC 7643 §5)."""

    def __init__(self, request: HttpRequest | None = None):
        self.request = request

    def to_dict(self) -> dict:
        location = urljoin(base_location(self.request), reverse("scim:service-provider-config"))
        return {
            "schemas": [SERVICE_PROVIDER_CONFIG_URN],
            "patch": {"supported": True},
            "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": MAX_PAYLOAD_BYTES},
            "filter": {"supported": True, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": False},
            "sort": {"supported": False},
            "etag": {"supported": True},
            "authenticationSchemes": AUTHENTICATION_SCHEMES,
            "meta": {"resourceType": "ServiceProviderConfig", "location": location},
        }
