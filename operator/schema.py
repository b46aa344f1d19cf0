"""The experiment spec's JSON Schema (pydantic) as a Kubernetes structural OpenAPI v3 schema.

Kubernetes accepts only structural schemas: every node typed, no ``$ref``, no ``anyOf`` that
carries types, and OpenAPI 3.0 keywords (``exclusiveMinimum`` is a boolean beside
``minimum``). The translation, node by node:

- ``$ref`` → the referenced definition, inlined;
- ``anyOf [X, null]`` → ``X``. The field is *not* marked ``nullable``: the API server prunes a
  null before defaulting, so ``field: null`` reads as "absent" — what ``None`` means in the
  Python model — and ``has(self.field)`` in the CEL rules keeps meaning "set";
- a node the caller replaces (``replacements``, by camelCase path) → the given schema. The
  sweep grid's values are a union of scalars, which has no typed form; an untyped node would be
  invisible to CEL (and a rule naming it fails to compile), so the CRD types it per parameter;
- ``const`` → a one-value ``enum``; ``prefixItems`` tuples → arrays;
  ``dict`` → ``additionalProperties``;
- defaults are kept (object-valued ones as ``{}`` so nested defaults apply), null defaults dropped.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

# Keywords that carry over unchanged into OpenAPI v3.0.
_KEPT = ("type", "enum", "minimum", "maximum", "pattern", "minLength", "maxLength",
         "minItems", "maxItems", "description", "format")
_NULL = {"type": "null"}

# Upper bounds the Python model leaves open. The API server estimates the cost of each CEL
# rule from the largest list or map it may see; unbounded ones make `.all(...)` over them
# too expensive to admit. Keyed by the field path in camelCase.
COST_BOUNDS: dict[str, dict[str, int]] = {
    "pretraining.decayEpochs": {"maxItems": 16},
    "training.diffAugment": {"maxItems": 3},
}


class SchemaError(ValueError):
    """The pydantic schema has a shape Kubernetes cannot express."""


def structural_schema(model: type[BaseModel],
                      replacements: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The model's JSON Schema (by alias) as a structural OpenAPI v3 schema."""
    source = model.model_json_schema(by_alias=True)
    return _convert(source, source.get("$defs", {}), "", replacements or {})


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" not in node:
        return node
    name = node["$ref"].rsplit("/", 1)[-1]
    merged = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
    return _resolve(merged, defs)


def _without_null(node: dict[str, Any]) -> dict[str, Any]:
    """Unwrap ``anyOf [X, null]`` to X, keeping the outer default and description."""
    options = [o for o in node.get("anyOf", ()) if o != _NULL]
    if "anyOf" not in node or len(options) != 1:
        return node
    outer = {k: v for k, v in node.items() if k not in ("anyOf", "title")}
    return {**options[0], **outer}


def _convert(node: dict[str, Any], defs: dict[str, Any], path: str,
             replacements: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if path in replacements:
        return replacements[path]
    node = _resolve(_without_null(_resolve(node, defs)), defs)
    if "anyOf" in node:
        raise SchemaError(f"{path or '(root)'}: a union of types has no typed CRD form")
    out: dict[str, Any] = {k: node[k] for k in _KEPT if k in node}
    if "const" in node:
        out["enum"] = [node["const"]]
    if "exclusiveMinimum" in node:
        out.update(minimum=node["exclusiveMinimum"], exclusiveMinimum=True)
    if "exclusiveMaximum" in node:
        out.update(maximum=node["exclusiveMaximum"], exclusiveMaximum=True)
    if "enum" in out and "type" not in out:
        out["type"] = _enum_type(out["enum"], path)
    if out.get("type") == "object":
        _convert_object(node, defs, path, out, replacements)
    elif out.get("type") == "array":
        items = node.get("items") or _tuple_items(node, path)
        out["items"] = _convert(items, defs, f"{path}.*" if path else "*", replacements)
    elif "type" not in out:
        raise SchemaError(f"{path or '(root)'}: untyped node")
    if node.get("default") is not None:
        out["default"] = {} if out.get("type") == "object" else node["default"]
    out.update(COST_BOUNDS.get(path, {}))
    return out


def _convert_object(node: dict[str, Any], defs: dict[str, Any], path: str, out: dict,
                    replacements: dict[str, dict[str, Any]]) -> None:
    properties = node.get("properties", {})
    if properties:
        out["properties"] = {
            name: _convert(child, defs, f"{path}.{name}" if path else name, replacements)
            for name, child in properties.items()
        }
        if node.get("required"):
            out["required"] = list(node["required"])
    elif isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = _convert(node["additionalProperties"], defs, f"{path}.*",
                                               replacements)
    else:
        raise SchemaError(f"{path}: an object needs properties or a value schema")


def _tuple_items(node: dict[str, Any], path: str) -> dict[str, Any]:
    shapes = node.get("prefixItems", ())
    if not shapes or any(s != shapes[0] for s in shapes):
        raise SchemaError(f"{path}: only homogeneous tuples map onto a CRD array")
    return shapes[0]


def _enum_type(values: list[Any], path: str) -> str:
    kinds = {type(v) for v in values}
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if len(kinds) != 1 or next(iter(kinds)) not in names:
        shown = sorted(k.__name__ for k in kinds)
        raise SchemaError(f"{path}: enum values of mixed or unsupported types {shown}")
    return names[next(iter(kinds))]
