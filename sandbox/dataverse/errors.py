"""Dataverse's error responses: `{"error":{"code":"0x…","message":"…"}}` with the HTTP status
Dataverse uses for each situation (research §11)."""

from __future__ import annotations

from typing import Any

ODATA_ERROR = "0x80060888"
OBJECT_DOES_NOT_EXIST = "0x80040217"
DUPLICATE_RECORD = "0x80040237"
DUPLICATE_ENTITY_KEY = "0x80060892"
PICKLIST_OUT_OF_RANGE = "0x8004431A"
STRING_TOO_LONG = "0x80044331"
ATTACHMENT_TOO_BIG = "0x80044a02"
UNEXPECTED = "0x80040216"
INVALID_ARGUMENT = "0x80040203"


class ApiError(Exception):
    """An error answered to the client in Dataverse's shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


def segment_not_found(segment: str) -> ApiError:
    return ApiError(404, ODATA_ERROR, f"Resource not found for the segment '{segment}'.")


def property_not_found(name: str, type_name: str) -> ApiError:
    return ApiError(
        400,
        ODATA_ERROR,
        f"The property '{name}' does not exist on type '{type_name}'. Make sure to only use "
        "property names that are defined by the type.",
    )


def select_property_not_found(name: str, type_name: str) -> ApiError:
    return ApiError(
        400, ODATA_ERROR, f"Could not find a property named '{name}' on type '{type_name}'."
    )


def undeclared_navigation(name: str) -> ApiError:
    return ApiError(
        400,
        ODATA_ERROR,
        f"An undeclared property '{name}' which only has property annotations in the payload "
        "but no property value was found in the payload. In OData, only declared navigation "
        "properties and declared named streams can be represented as properties without values.",
    )


def record_not_found(entity: str, record_id: str) -> ApiError:
    return ApiError(404, OBJECT_DOES_NOT_EXIST, f"{entity} With Id = {record_id} Does Not Exist")


def key_record_not_found(entity: str) -> ApiError:
    return ApiError(
        404,
        OBJECT_DOES_NOT_EXIST,
        f"A record with the specified key values does not exist in {entity} entity",
    )


def invalid_key(type_name: str) -> ApiError:
    return ApiError(
        400,
        ODATA_ERROR,
        f"The key in the request URI is not valid for resource '{type_name}'. Ensure that the "
        "names and number of key properties match the declared or alternate key properties for "
        f"the resource '{type_name}'.",
    )


def malformed_json(detail: str) -> ApiError:
    return ApiError(
        400, ODATA_ERROR, f"Invalid JSON. An unexpected token was found in the payload: {detail}"
    )
