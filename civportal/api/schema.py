"""OpenAPI post-processing: declare the one error format on every operation.

Every operation can answer 400 (invalid parameters or body), 401, 403, 404
and 429 with ``{"code", "detail", "errors"}``; writes can also answer 409
(stale or concurrent transition) and 413 (body too large)."""

ERROR_SCHEMA = {
    "type": "object",
    "description": "The one error format of the API.",
    "properties": {
        "code": {"type": "string", "description": "Stable machine code, e.g. `invalid`, `not_found`, "
                 "`not_authenticated`, `authentication_failed`, `permission_denied`, `conflict`, `throttled`."},
        "detail": {"type": "string", "description": "A sentence for people, in the request's language."},
        "errors": {
            "type": "object",
            "description": "Validation only: messages per field (`non_field_errors` for the whole body).",
            "additionalProperties": True,
        },
    },
    "required": ["code", "detail"],
}

DESCRIPTIONS = {
    "400": "Invalid parameters or body (`code` is `invalid` or `parse_error`; `errors` holds the details).",
    "401": "Missing, invalid, revoked or expired credentials.",
    "403": "The caller's role does not allow this.",
    "404": "No such object in the caller's scope.",
    "409": "The object changed meanwhile (stale or concurrent transition).",
    "413": "The request body is too large.",
    "429": "Too many requests: wait for the number of seconds in `Retry-After`.",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete", "head", "options"}:
                continue
            codes = ["400", "401", "403", "404", "429"]
            if method in WRITE_METHODS:
                codes += ["409", "413"]
            responses = operation.setdefault("responses", {})
            for code in codes:
                if code not in responses:
                    responses[code] = {"content": {"application/json": {"schema": ref}}, "description": DESCRIPTIONS[code]}
    return result
