"""Reading the OpenAPI spec in tests: its operations, and answers checked against it."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from flask import Flask
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
# Flask answers these by itself for every route; OpenAPI leaves them out too.
IMPLICIT_METHODS = {"HEAD", "OPTIONS"}
SPEC_URI = "urn:enviro-sensor:spec"


def is_docs_plumbing(endpoint: str) -> bool:
    """The docs page, the spec and their assets, and Flask's static files: not the API."""
    return endpoint == "static" or endpoint.startswith("flasgger.")


def app_operations(app: Flask) -> set[tuple[str, str]]:
    """(method, OpenAPI path) for every route of the app but the docs plumbing."""
    operations = set()
    for rule in app.url_map.iter_rules():
        if is_docs_plumbing(rule.endpoint):
            continue
        path = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule)
        operations.update((method.lower(), path) for method in rule.methods - IMPLICIT_METHODS)
    return operations


def spec_operations(spec: dict) -> set[tuple[str, str]]:
    return {
        (method, path) for path, item in spec["paths"].items() for method in item if method in HTTP_METHODS
    }


def _pointer(parts: list[str]) -> str:
    return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


class SpecChecker:
    """Validates answers against the response schemas of one spec.

    Every schema is validated in place, through a ``$ref`` into the spec, so
    the spec's own references resolve as they would for any client. OpenAPI
    3.0's schema object is JSON Schema draft 4 with extra keywords.
    """

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        resource = Resource.from_contents(spec, default_specification=DRAFT4)
        self.registry = Registry().with_resource(SPEC_URI, resource)

    def resolve(self, parts: list[str]) -> tuple[list[str], Any]:
        """Follow ``$ref``s from the node at ``parts``: (where it ends, what is there)."""
        node = self._at(parts)
        while isinstance(node, dict) and "$ref" in node:
            parts = node["$ref"].removeprefix("#/").split("/")
            node = self._at(parts)
        return parts, node

    def _at(self, parts: list[str]) -> Any:
        node: Any = self.spec
        for part in parts:
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def validate(self, instance: Any, schema_at: list[str]) -> None:
        validator = jsonschema.Draft4Validator(
            {"$ref": f"{SPEC_URI}#{_pointer(schema_at)}"}, registry=self.registry
        )
        errors = sorted(validator.iter_errors(instance), key=lambda error: list(error.absolute_path))
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])

    def check_answer(self, method: str, path: str, status: int, mimetype: str, body: Any) -> None:
        """The answer's status and media type are documented and its body fits their schema."""
        operation = ["paths", path, method.lower()]
        responses = self.resolve([*operation, "responses"])[1]
        assert str(status) in responses, f"{method} {path}: {status} is not documented"
        where, response = self.resolve([*operation, "responses", str(status)])
        content = response.get("content", {})
        assert mimetype in content, f"{method} {path} {status}: {mimetype} is not among {list(content)}"
        if mimetype == "application/json":
            self.validate(body, [*where, "content", mimetype, "schema"])
