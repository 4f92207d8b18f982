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

# --- Limits: every SCIM request has a bounded cost (SECURITY.md lists them) -----------------
# Above a limit the request is a 400 that names it; nothing is written.
# Items of one multi-valued attribute (emails, phoneNumbers, addresses) of a user, as stored
# after the request and in any one value: 400 invalidValue.
MAX_MULTI_VALUED_ITEMS = 20
# Operations of one PATCH, counted after path-less value objects are expanded (one per key):
# 400 tooMany.
MAX_PATCH_OPERATIONS = 1_000
# Attributes of one POST/PUT body or path-less value object, extension members included (a
# user has about 20): 400 tooMany.
MAX_BODY_ATTRIBUTES = 1_000
# Values of one operation or attribute, e.g. the members a group PATCH adds. Entra sends at most
# a few hundred members per operation; a PUT/POST of a group may list many thousands: 400 tooMany.
MAX_VALUES_PER_OPERATION = 10_000
# Names of one `attributes` or `excludedAttributes` list (RFC 7644 §3.4.2.5), each matched
# against every resource of a page; a user has about 60 attribute and sub-attribute names. A
# SearchRequest body could otherwise list hundreds of thousands: 400 tooMany.
MAX_PROJECTION_ATTRIBUTES = 100
# Filters (RFC 7644 §3.4.2.2): characters, comparisons (attribute operator value), and nesting
# of parentheses and [value filters]; all checked before the filter is parsed: 400 invalidFilter.
MAX_FILTER_LENGTH = 4_096
MAX_FILTER_TERMS = 50
MAX_FILTER_DEPTH = 10
# Members rendered on one /Groups list page. A page holds groups until the next one would pass
# this (always at least one), so it may hold fewer resources than `count` asked for; its
# itemsPerPage says how many (RFC 7644 §3.4.2.4) and the client pages on from there.
MAX_MEMBERS_PER_LIST_PAGE = 10_000
