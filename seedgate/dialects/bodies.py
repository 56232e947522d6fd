"""One description of a dialect's request body: the fields its parser reads, each with a JSON schema and its meaning.

Parsers stay hand-written (each is lenient where its vendor is, and names the offending field in every error), so
a body's description is a table rather than a validating model. The table is the OpenAPI request body of the
route (api/openapi_bodies.py); where a parser reads fields by name from a list (Ark's options) the list is the
table's; and tests/test_dialect_contract.py checks that every parser reads exactly the fields its table describes,
nested objects included, so the two cannot drift apart.

Schemas are open (`additionalProperties` allowed): every vendor tolerates fields it does not know. An optional
field may also be `null`, which means absent (the official Ark SDK sends every unset option as null).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Schema = Mapping[str, Any]

STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}
OBJECT: Schema = {"type": "object"}  # free-form: its members are not described (nor checked by the contract test)
URL: Schema = {"type": "string", "description": "http(s) URL, data: URL (base64), or asset://ID"}


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


def int_range(low: int, high: int) -> Schema:
    return {"type": "integer", "minimum": low, "maximum": high}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": dict(items)}


def any_of(*schemas: Schema) -> Schema:
    return {"anyOf": [dict(s) for s in schemas]}


@dataclass(frozen=True)
class Field:
    name: str
    schema: Schema
    doc: str = ""
    required: bool = False  # leaving it out is an error (MissingParameter)
    # Accepted and ignored: documented so that a client knows sending it is no error, but never read.
    ignored: bool = False

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = dict(self.schema)
        if not self.required:
            schema = {"anyOf": [schema, {"type": "null"}]}
        if self.doc:
            schema["description"] = self.doc
        return schema


def obj(*fields: Field) -> dict[str, Any]:
    """The JSON schema of an object with these members."""
    schema: dict[str, Any] = {"type": "object", "properties": {f.name: f.json_schema() for f in fields}}
    if required := [f.name for f in fields if f.required]:
        schema["required"] = required
    return schema


@dataclass(frozen=True)
class Body:
    """A request body: its top-level fields, in the order the vendor documents them."""

    fields: tuple[Field, ...]

    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def schema(self) -> dict[str, Any]:
        return obj(*self.fields)

    def request_body(self) -> dict[str, Any]:
        """The OpenAPI `requestBody` of a route that takes this body as JSON."""
        return {"required": True, "content": {"application/json": {"schema": self.schema()}}}


def describe(*fields: Field) -> Body:
    return Body(fields)
