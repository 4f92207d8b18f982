"""SCIM protocol constants and the limits this server advertises in /ServiceProviderConfig."""

SCIM_CONTENT_TYPE = "application/scim+json"
# The challenge of every 401 (RFC 6750 §3).
WWW_AUTHENTICATE = 'Bearer realm="QA Portal SCIM"'

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SERVICE_PROVIDER_CONFIG_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"

# Page size cap, advertised as filter.maxResults (RFC 7644 §3.4.2.4: the server may cap count).
MAX_RESULTS = 100
# Request bodies above this are answered 413 before they are read. A group PATCH adding 5,000
# members with $ref URLs is about 0.8 MB; Django's own ceiling (DATA_UPLOAD_MAX_MEMORY_SIZE)
# is 2.5 MB, so the SCIM error is always the one a client sees.
MAX_PAYLOAD_BYTES = 2 * 1024 * 1024
