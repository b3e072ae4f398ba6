"""The server's OpenAPI 3.1 document, with `/predict` and `/invocations` bodies built from schema.yaml.

One record's JSON Schema follows the request validator: every schema column is a required
property of its dtype (integers within int64, numbers within float32's finite range, the
schema's bounds when `serving.check_ranges` is on, categories as an enum, dates as ISO 8601
calendar strings), nullable columns also accept null, and no other property is allowed but
the routing key. Clients and API fuzzers (schemathesis) read it from `/openapi.json`.
"""

from __future__ import annotations

import math
from typing import Any

from shipyard.config.policy import ServingConfig
from shipyard.data.schema import ColumnSchema
from shipyard.serving.validation import FLOAT_LIMIT, INT64_MAX, INT64_MIN, RequestValidator

_DATE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
_ERROR = {"$ref": "#/components/schemas/Error"}
_MLFLOW_ERROR = {"$ref": "#/components/schemas/MlflowError"}


def _bounded(column: ColumnSchema, check_ranges: bool, low: float, high: float) -> dict[str, Any]:
    out: dict[str, Any] = {"minimum": low, "maximum": high}
    if not check_ranges:
        return out
    for key, bound, pick in (("minimum", column.minimum, max), ("maximum", column.maximum, min)):
        if isinstance(bound, int | float) and not isinstance(bound, bool) and math.isfinite(bound):
            out[key] = pick(out[key], bound)
    return out


def column_schema(column: ColumnSchema, check_ranges: bool = True) -> dict[str, Any]:
    """The JSON Schema of one column's values."""
    family = column.dtype
    if family == "int":
        out: dict[str, Any] = {"type": "integer", **_bounded(column, check_ranges, INT64_MIN, INT64_MAX)}
    elif family == "float":
        out = {"type": "number", **_bounded(column, check_ranges, -FLOAT_LIMIT, FLOAT_LIMIT)}
    elif family == "bool":
        out = {"type": "boolean"}
    elif family == "datetime":
        out = {"type": "string", "pattern": _DATE, "examples": ["2026-11-01T10:00:00Z"]}
    else:
        out = {"type": "string"} if family == "string" else {"type": ["string", "number", "boolean"]}
    if column.categories is not None:
        out = {"enum": list(column.categories)}
    if column.nullable:
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def _record(validator: RequestValidator, cfg: ServingConfig) -> dict[str, Any]:
    if validator.schema is None:
        return {"type": "object", "minProperties": 1}
    properties = {c.name: column_schema(c, cfg.check_ranges) for c in validator.columns}
    properties[cfg.key_field] = {"type": ["string", "integer", "null"]}
    return {
        "type": "object",
        "properties": properties,
        "required": list(validator.names),
        "additionalProperties": False,
    }


def _columns(validator: RequestValidator, cfg: ServingConfig) -> dict[str, Any]:
    if validator.schema is None:
        return {"type": "object", "additionalProperties": {"type": "array"}}
    properties = {
        c.name: {"type": "array", "items": column_schema(c, cfg.check_ranges), "minItems": 1}
        for c in validator.columns
    }
    return {
        "type": "object",
        "properties": properties,
        "required": list(validator.names),
        "additionalProperties": False,
    }


def _responses(ok: dict[str, Any], error: dict[str, Any], codes: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"200": {"description": "Scored", "content": {"application/json": {"schema": ok}}}}
    for code in codes:
        out[str(code)] = {"description": "Refused", "content": {"application/json": {"schema": error}}}
    return out


def openapi_document(validator: RequestValidator, cfg: ServingConfig) -> dict[str, Any]:
    """The OpenAPI 3.1 document served at `/openapi.json`."""
    records = {"type": "array", "items": {"$ref": "#/components/schemas/Record"}, "minItems": 1}
    columns = {"$ref": "#/components/schemas/Columns"}
    split_row = {"type": "array", "items": {}}
    predict_body = {
        "oneOf": [
            records,
            {"type": "object", "properties": {"records": records}, "required": ["records"]},
            {"type": "object", "properties": {"columns": columns}, "required": ["columns"]},
        ]
    }
    invocations_body = {
        "oneOf": [
            {
                "type": "object",
                "properties": {"dataframe_records": records},
                "required": ["dataframe_records"],
            },
            {
                "type": "object",
                "properties": {
                    "dataframe_split": {
                        "type": "object",
                        "properties": {
                            "columns": {"type": "array", "items": {"type": "string"}},
                            "data": {"type": "array", "items": split_row},
                            "index": {"type": "array"},
                        },
                        "required": ["columns", "data"],
                    }
                },
                "required": ["dataframe_split"],
            },
            {
                "type": "object",
                "properties": {"instances": {"oneOf": [records, columns]}},
                "required": ["instances"],
            },
            {
                "type": "object",
                "properties": {"inputs": {"oneOf": [records, columns]}},
                "required": ["inputs"],
            },
        ]
    }
    predict_ok = {
        "type": "object",
        "properties": {
            "request_id": {"type": "string"},
            "model_version": {"type": "string"},
            "route": {"type": "string"},
            "predictions": {"type": "array"},
            "scores": {"type": "array"},
            "probabilities": {"type": "object"},
        },
        "required": ["request_id", "model_version", "predictions"],
    }
    mlflow_ok = {
        "type": "object",
        "properties": {"predictions": {"type": "array"}},
        "required": ["predictions"],
    }
    feedback_item = {
        "type": "object",
        "properties": {
            "request_id": {"type": "string", "maxLength": 80},
            "row": {"type": "integer", "minimum": 0},
            "label": {"type": ["string", "number", "boolean"]},
        },
        "required": ["request_id", "label"],
    }
    bearer: list[dict[str, list[str]]] = [{"bearer": []}, {}]
    plain = {"200": {"description": "OK"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Shipyard model server", "version": "1"},
        "paths": {
            "/predict": {
                "post": {
                    "summary": "Score rows; the answer carries the request id to send labels for.",
                    "security": bearer,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": predict_body}},
                    },
                    "responses": _responses(predict_ok, _ERROR, (400, 401, 403, 408, 413, 415, 422)),
                }
            },
            "/invocations": {
                "post": {
                    "summary": "Score rows with MLflow's scoring protocol (JSON or CSV).",
                    "security": bearer,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": invocations_body},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": _responses(mlflow_ok, _MLFLOW_ERROR, (400, 401, 403, 408, 413, 415)),
                }
            },
            "/feedback": {
                "post": {
                    "summary": "Labels for rows this server scored (first label wins).",
                    "security": bearer,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [feedback_item, {"type": "array", "items": feedback_item}]
                                }
                            }
                        },
                    },
                    "responses": {
                        "202": {"description": "Accepted"},
                        **{str(c): {"description": "Refused"} for c in (400, 401, 403, 409, 413, 422, 429)},
                    },
                }
            },
            "/v1/models": {"get": {"summary": "What is served", "responses": plain}},
            "/healthz": {"get": {"summary": "Liveness", "responses": plain}},
            "/readyz": {"get": {"summary": "Readiness", "responses": plain}},
            "/ping": {"get": {"summary": "MLflow health check", "responses": plain}},
            "/health": {"get": {"summary": "MLflow health check", "responses": plain}},
            "/version": {"get": {"summary": "MLflow version", "responses": plain}},
        },
        "components": {
            "schemas": {
                "Record": _record(validator, cfg),
                "Columns": _columns(validator, cfg),
                "Error": {
                    "type": "object",
                    "properties": {"detail": {"type": "string"}, "request_id": {"type": "string"}},
                    "required": ["detail", "request_id"],
                },
                "MlflowError": {
                    "type": "object",
                    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
                    "required": ["error_code", "message"],
                },
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
