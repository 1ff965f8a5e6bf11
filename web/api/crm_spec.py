"""The OpenAPI part for the host CRM: its records, bulk upserts, integration tokens, webhooks, events.

:mod:`web.api.spec` adds :data:`PATHS` and :data:`SCHEMAS` to the document; the views are in
:mod:`web.api.records` and :mod:`web.api.integration`.
"""

from __future__ import annotations

from hub.crm.records import BULK_LIMIT
from hub.events import EVENT_TYPES
from hub.models import Role
from web.api.operations import ROW_ID, array_of, json_body, operation, param
from web.api.schemas import BOOL, DATETIME, EMAIL, INT, STR, _nullable, _object, ref

EXTERNAL_ID = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^/\\s]+$"}
NAME = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"}
DOMAIN = {"type": "string", "minLength": 3, "maxLength": 255, "pattern": "^[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+\\.?$"}
DOMAINS = {"type": "array", "maxItems": 100, "items": DOMAIN}
EMAILS = {"type": "array", "maxItems": 100, "items": EMAIL}
ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
REF_ID = _nullable(ID)
REF_EXTERNAL = _nullable(EXTERNAL_ID)
COMMON = {"id": INT, "external_id": _nullable("string"), "updated_at": _nullable(DATETIME)}

#: per kind: (singular, path parameter, response properties, writable properties, list filters)
KIND_SPECS: dict[str, dict] = {
    "organizations": dict(
        singular="organization", tag="organizations",
        read={"name": STR, "domains": {"type": "array", "items": STR},
              "free_mail_domains": {"type": "array", "items": STR}, "mailbox_cap": _nullable("integer")},
        write={"name": NAME, "domains": DOMAINS, "free_mail_domains": DOMAINS,
               "mailbox_cap": _nullable({"type": "integer", "minimum": 0, "maximum": 1000000}),
               "external_id": EXTERNAL_ID},
        filters=()),
    "users": dict(
        singular="user", tag="users",
        read={"email": STR, "name": STR, "role": STR, "timezone": STR, "active": BOOL, "plan": _nullable("string"),
              "aliases": {"type": "array", "items": STR}},
        write={"email": EMAIL, "name": {"type": "string", "maxLength": 200}, "role": {"enum": [r.value for r in Role]},
               "timezone": {"type": "string", "minLength": 1, "maxLength": 64}, "active": BOOL,
               "plan": _nullable({"type": "string", "maxLength": 64}), "aliases": EMAILS, "external_id": EXTERNAL_ID},
        filters=("email",)),
    "companies": dict(
        singular="company", tag="companies",
        read={"name": STR, "domains": {"type": "array", "items": STR}},
        write={"name": NAME, "domains": DOMAINS, "external_id": EXTERNAL_ID},
        filters=("domain",)),
    "contacts": dict(
        singular="contact", tag="contacts",
        read={"name": STR, "emails": {"type": "array", "items": STR}, "company_id": _nullable("integer"),
              "is_lead": BOOL, "owner_user_id": _nullable("integer"), "source": STR},
        write={"name": {"type": "string", "maxLength": 200}, "emails": EMAILS, "is_lead": BOOL,
               "company_id": REF_ID, "company_external_id": REF_EXTERNAL, "owner_user_id": REF_ID,
               "external_id": EXTERNAL_ID},
        filters=("q", "email", "company_id", "is_lead")),
    "opportunities": dict(
        singular="opportunity", tag="opportunities",
        read={"name": STR, "stage": STR, "is_open": BOOL, "closed_at": _nullable(DATETIME),
              "company_id": _nullable("integer"), "contact_ids": {"type": "array", "items": INT}},
        write={"name": NAME, "stage": {"type": "string", "maxLength": 64}, "is_open": BOOL,
               "company_id": REF_ID, "company_external_id": REF_EXTERNAL,
               "contact_ids": {"type": "array", "maxItems": 100, "items": ID},
               "contact_external_ids": {"type": "array", "maxItems": 100, "items": EXTERNAL_ID},
               "external_id": EXTERNAL_ID},
        filters=("company_id", "contact_id", "is_open")),
}
#: what each kind offers besides list/get/PATCH
CREATABLE = {"users", "companies", "contacts", "opportunities"}
BULK = {"users", "companies", "contacts"}
REQUIRED_ON_CREATE = {"users": ("email",), "companies": ("name",), "contacts": (), "opportunities": ("name",)}

FILTERS = {
    "q": param("q", "query", {"type": "string", "maxLength": 200}, description="Name or email contains."),
    "email": param("email", "query", {"type": "string", "maxLength": 320}, description="Has this address."),
    "domain": param("domain", "query", {"type": "string", "maxLength": 255}, description="Has this domain."),
    "company_id": param("company_id", "query", ROW_ID, description="Of this company."),
    "contact_id": param("contact_id", "query", ROW_ID, description="Of (among others) this contact."),
    "is_lead": param("is_lead", "query", {"type": "boolean"}),
    "is_open": param("is_open", "query", {"type": "boolean"}),
}
PAGING = (
    param("after", "query", {"type": "string", "pattern": "^[0-9]{1,18}$"},
           description="The cursor from the previous page's X-Next-Cursor header."),
    param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500}, description="Page size (100)."),
    param("external_id", "query", {"type": "string", "maxLength": 255}, description="The CRM's id."),
    param("updated_since", "query", DATETIME, description="Changed at or after."),
)

SCHEMAS: dict[str, dict] = {
    "BulkResult": _object({
        "index": INT, "external_id": _nullable("string"),
        "result": {"enum": ["created", "updated", "unchanged", "error"]},
        "id": INT, "error": STR, "field": _nullable("string")}, ("index", "result")),
    "BulkResults": _object({"results": {"type": "array", "items": ref("BulkResult")},
                            "counts": {"type": "object", "additionalProperties": INT}}, ("results", "counts")),
    "IntegrationToken": _object({
        "id": INT, "name": STR, "scopes": {"type": "array", "items": STR}, "created_at": DATETIME,
        "last_used_at": _nullable(DATETIME), "revoked_at": _nullable(DATETIME),
        "token": {"type": "string", "description": "Only in the answer that created it."}},
        ("id", "name", "scopes")),
    "IntegrationTokenCreate": _object({
        "name": NAME, "scopes": {"type": "array", "minItems": 1, "uniqueItems": True,
                                 "items": {"enum": ["read", "write", "webhooks_admin"]}}}, ("name", "scopes")),
    "WebhookEndpoint": _object({
        "id": INT, "url": STR, "description": STR, "event_types": {"type": "array", "items": STR},
        "enabled": BOOL, "disabled_reason": _nullable("string"), "allow_private": BOOL,
        "failing_since": _nullable(DATETIME), "created_at": DATETIME,
        "secret": {"type": "string", "description": "The signing secret (whsec_…); only when created."}},
        ("id", "url", "event_types", "enabled")),
    "WebhookEndpointWrite": _object({
        "url": {"type": "string", "minLength": 8, "maxLength": 2000, "pattern": "^https?://"},
        "description": {"type": "string", "maxLength": 200},
        "event_types": {"type": "array", "uniqueItems": True, "items": {"enum": list(EVENT_TYPES)}},
        "enabled": BOOL,
        "allow_private": {"type": "boolean", "description": "Private and loopback hosts (administrators only)."}},
        minProperties=1),
    "WebhookDelivery": _object({
        "id": INT, "event_id": STR, "event_type": STR, "attempts": INT, "last_status": _nullable("integer"),
        "last_error": _nullable("string"), "last_attempt_at": _nullable(DATETIME),
        "next_attempt_at": _nullable(DATETIME), "delivered_at": _nullable(DATETIME),
        "failed_at": _nullable(DATETIME)}, ("id", "event_id", "event_type", "attempts")),
    "Event": _object({"id": STR, "cursor": STR, "type": STR, "timestamp": DATETIME, "data": {"type": "object"}},
                     ("id", "cursor", "type", "timestamp", "data")),
    "EventPage": _object({"events": {"type": "array", "items": ref("Event")}, "next_cursor": STR},
                         ("events", "next_cursor")),
}

PATHS: dict[str, dict[str, dict]] = {}
for kind, spec in KIND_SPECS.items():
    name, tag = spec["singular"].title(), spec["tag"]
    SCHEMAS[name] = _object({**COMMON, **spec["read"]}, ("id", *spec["read"].keys()))
    SCHEMAS[f"{name}Update"] = _object(spec["write"], minProperties=1)
    record = param(f"{spec['singular']}_id", "path", ROW_ID)
    external = param("external_id", "path", EXTERNAL_ID)
    collection = {"get": operation(f"List {kind}", tag, returns=array_of(name),
                             params=(*(FILTERS[f] for f in spec["filters"]), *PAGING))}
    item = {"get": operation(f"A {spec['singular']}", tag, returns=ref(name), params=(record,), errors=(404,)),
            "patch": operation(f"Update a {spec['singular']}", tag, returns=ref(name), body=f"{name}Update",
                         params=(record,), errors=(404,))}
    if kind in CREATABLE:
        SCHEMAS[f"{name}Create"] = _object(spec["write"], REQUIRED_ON_CREATE[kind])
        collection["post"] = operation(f"Create a {spec['singular']}", tag, ok=201, returns=ref(name),
                                 body=f"{name}Create")
        item["delete"] = operation(f"Delete a {spec['singular']}", tag, ok=204, params=(record,), errors=(404,))
        upsert = operation(f"Create or update a {spec['singular']} by external id", tag, returns=ref(name),
                     body=f"{name}Update", params=(external,))
        upsert["responses"]["201"] = {"description": "Created", **json_body(ref(name))}
        PATHS[f"/{kind}/by-external-id/{{external_id}}"] = {"put": upsert}
    PATHS[f"/{kind}"] = collection
    PATHS[f"/{kind}/{{{spec['singular']}_id}}"] = item
    if kind in BULK:
        SCHEMAS[f"{name}Bulk"] = _object({"records": {"type": "array", "minItems": 1, "maxItems": BULK_LIMIT,
                                                      "items": {"type": "object", "description": (
                                                          f"A {name}Update with its external_id; each record is "
                                                          "checked on its own and gets its own result.")}}},
                                         ("records",))
        PATHS[f"/{kind}/bulk"] = {"post": operation(f"Upsert up to {BULK_LIMIT} {kind} by external id", tag,
                                              returns=ref("BulkResults"), body=f"{name}Bulk")}

# organizations: made by an administrator (or write token) of another one; each deletes only its own
SCHEMAS["OrganizationCreate"] = _object(KIND_SPECS["organizations"]["write"], ("name",))
SCHEMAS["OrganizationCreated"] = _object({**SCHEMAS["Organization"]["properties"], "token": {
    "type": "string", "description": "An integration token for the new organization (read, write, "
                                     "webhooks_admin); shown only here."}}, ("id", "name", "token"))
PATHS["/organizations"]["post"] = operation("Create an organization", "organizations", ok=201,
                                            returns=ref("OrganizationCreated"), body="OrganizationCreate")
_delete = operation("Delete your organization", "organizations", ok=204, errors=(404, 409), params=(
    param("organization_id", "path", ROW_ID),
    param("with_users", "query", {"type": "boolean"},
          description="Delete its users too, with the mail and meetings they synced (their accounts must be "
                      "disconnected first).")))
_delete["responses"]["409"]["description"] = "It still has users (without with_users) or connected accounts"
PATHS["/organizations/{organization_id}"]["delete"] = _delete

TOKEN = param("token_id", "path", ROW_ID)
ENDPOINT = param("endpoint_id", "path", ROW_ID)
DELIVERY = param("delivery_id", "path", ROW_ID)
PATHS.update({
    "/integration-tokens": {
        "get": operation("List integration tokens", "integration", returns=array_of("IntegrationToken")),
        "post": operation("Create an integration token", "integration", ok=201, returns=ref("IntegrationToken"),
                    body="IntegrationTokenCreate"),
    },
    "/integration-tokens/{token_id}": {
        "delete": operation("Revoke an integration token", "integration", ok=204, params=(TOKEN,), errors=(404,)),
    },
    "/webhook-endpoints": {
        "get": operation("List webhook endpoints", "webhooks", returns=array_of("WebhookEndpoint")),
        "post": operation("Register a webhook endpoint", "webhooks", ok=201, returns=ref("WebhookEndpoint"),
                    body="WebhookEndpointWrite"),
    },
    "/webhook-endpoints/{endpoint_id}": {
        "get": operation("A webhook endpoint", "webhooks", returns=ref("WebhookEndpoint"), params=(ENDPOINT,),
                   errors=(404,)),
        "patch": operation("Change a webhook endpoint (enabled: true re-enables it)", "webhooks",
                     returns=ref("WebhookEndpoint"), body="WebhookEndpointWrite", params=(ENDPOINT,),
                     errors=(404,)),
        "delete": operation("Remove a webhook endpoint", "webhooks", ok=204, params=(ENDPOINT,), errors=(404,)),
    },
    "/webhook-endpoints/{endpoint_id}/deliveries": {
        "get": operation("Delivery log of an endpoint, newest first", "webhooks", returns=array_of("WebhookDelivery"),
                   params=(ENDPOINT, param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500})),
                   errors=(404,)),
    },
    "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/resend": {
        "post": operation("Send a delivery again", "webhooks", ok=202, returns=ref("WebhookDelivery"),
                    params=(ENDPOINT, DELIVERY), errors=(404,)),
    },
    "/events": {
        "get": operation("Events in order, after a cursor", "events", returns=ref("EventPage"), params=(
            param("after", "query", {"type": "string", "pattern": "^[0-9]{0,18}$"},
                   description="next_cursor of the previous page; empty or absent = the oldest kept event."),
            param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000}),
            param("type", "query", {"enum": list(EVENT_TYPES)}, description="Only this event type."))),
    },
})
