"""The OpenAPI document (booking_ui/openapi.py) describes exactly the public routes the API registers."""

from __future__ import annotations

import schemathesis
from starlette.routing import Route
from starlette.testclient import TestClient

from booking_ui import api, openapi

METHODS = {"get", "post", "put", "patch", "delete"}


def registered_operations() -> set[tuple[str, str]]:
    """(path, method) of every route build_api() registers; HEAD comes with GET and is not listed."""
    found = set()
    for route in api.build_api().routes:
        assert isinstance(route, Route), route
        found |= {(route.path, method.lower()) for method in route.methods or () if method != "HEAD"}
    return found


def documented_operations() -> set[tuple[str, str]]:
    paths = openapi.document()["paths"]
    return {(path, method) for path, item in paths.items() for method in item if method in METHODS}


def test_every_public_route_is_documented_and_nothing_else():
    public = {(path, method) for path, method in registered_operations()
              if not path.startswith(openapi.PRIVATE_PREFIXES)}

    assert documented_operations() == public


def test_the_admin_routes_are_left_out():
    private = {op for op in registered_operations() if op[0].startswith(openapi.PRIVATE_PREFIXES)}

    assert private, "the workspace's event-payload route is registered"
    assert not private & documented_operations()


def test_the_document_is_valid_openapi_3_1():
    schemathesis.openapi.from_dict(openapi.document()).validate()  # against the OpenAPI 3.1 meta-schema


def test_every_path_parameter_is_declared():
    for path, item in openapi.document()["paths"].items():
        names = {p["name"] for p in item.get("parameters", [])}
        for method in METHODS & set(item):
            declared = names | {p["name"] for p in item[method].get("parameters", []) if p["in"] == "path"}
            in_path = {part.split("}")[0] for part in path.split("{")[1:]}
            assert in_path <= declared, (path, method)


def test_every_reference_resolves():
    doc = openapi.document()

    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    names = {ref.rsplit("/", 1)[1] for ref in refs(doc)}
    assert names <= set(doc["components"]["schemas"])


def test_the_document_is_served():
    response = TestClient(api.build_api()).get("/api/openapi.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["openapi"].startswith("3.1")
    assert response.json() == openapi.document()
