"""Does a new OpenAPI document break clients of the last released one?

`breaking_changes(released, candidate)` lists every change a client written against `released`
could trip over:
- an operation, or a success status of one, that is gone;
- in what a client sends: a new required parameter or body field, a field or parameter it could
  send that is gone (HMS refuses fields it does not know), a narrower type (another type, fewer
  enum values, a lower maximum or length, a higher minimum, a new or changed pattern);
- in what a client reads: a field that is gone or no longer always there, another type, a value
  that may now be null.
Additions (new operations, optional inputs, new response fields) are not breaking. A breaking
change is allowed only in a new major version (`info.version`), which the gateway serves under a
new /api/vN beside the old one (CHANGELOG.md says what changed for clients).

`python -m gateway.compatibility RELEASED.json CANDIDATE.json` prints the changes and exits 1 if
any is breaking (CI runs it through the test suite: tests/api/test_compatibility.py).
"""

import json
import sys
from dataclasses import dataclass
from pathlib import Path

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


@dataclass(frozen=True)
class Change:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def major(document: dict) -> int:
    return int(str(document.get("info", {}).get("version", "0")).split(".")[0] or 0)


def breaking_changes(released: dict, candidate: dict) -> list[Change]:
    """Every change in `candidate` that breaks a client of `released` (see the module doc)."""
    found: list[Change] = []
    old, new = _Resolver(released), _Resolver(candidate)
    for path, item in released.get("paths", {}).items():
        for method in METHODS:
            if method not in item:
                continue
            where = f"{method.upper()} {path}"
            operation = candidate.get("paths", {}).get(path, {}).get(method)
            if operation is None:
                found.append(Change(where, "the operation is gone"))
                continue
            found += _compare_operation(where, item[method], operation, old, new)
    return found


def _compare_operation(where: str, before: dict, after: dict, old, new) -> list[Change]:
    found: list[Change] = []
    # Parameters: what the client sends in the path, query and headers.
    params_before = {
        (p["in"], p["name"]): p for p in map(old.resolve, before.get("parameters", []))
    }
    params_after = {(p["in"], p["name"]): p for p in map(new.resolve, after.get("parameters", []))}
    for key, parameter in params_after.items():
        if parameter.get("required") and key not in params_before:
            found.append(Change(where, f"new required {key[0]} parameter {key[1]!r}"))
    for key, parameter in params_before.items():
        if key not in params_after:
            found.append(Change(where, f"{key[0]} parameter {key[1]!r} is gone"))
            continue
        if params_after[key].get("required") and not parameter.get("required"):
            found.append(Change(where, f"{key[0]} parameter {key[1]!r} is now required"))
        found += _compare_input(
            f"{where} {key[0]} {key[1]}",
            old.resolve(parameter.get("schema", {})),
            new.resolve(params_after[key].get("schema", {})),
            old,
            new,
        )
    # The request body.
    body_before = _json_schema(old.resolve(before.get("requestBody", {})))
    body_after = _json_schema(new.resolve(after.get("requestBody", {})))
    if body_after is not None and body_before is None and after["requestBody"].get("required"):
        found.append(Change(where, "a request body is now required"))
    if body_before is not None and body_after is not None:
        found += _compare_input(f"{where} body", body_before, body_after, old, new)
    # Responses: every success status, and what it holds.
    for status, response in before.get("responses", {}).items():
        if not status.startswith("2"):
            continue
        if status not in after.get("responses", {}):
            found.append(Change(where, f"it no longer answers {status}"))
            continue
        schema_before = _json_schema(old.resolve(response))
        schema_after = _json_schema(new.resolve(after["responses"][status]))
        if schema_before is not None and schema_after is not None:
            found += _compare_output(f"{where} {status}", schema_before, schema_after, old, new)
    return found


def _json_schema(holder: dict):
    content = holder.get("content", {})
    for media_type, entry in content.items():
        if "json" in media_type:
            return entry.get("schema", {})
    return None


def _type(schema: dict) -> str | None:
    if "type" in schema:
        return schema["type"]
    if "properties" in schema:
        return "object"
    return None


def _compare_input(where: str, before: dict, after: dict, old, new, depth: int = 0) -> list[Change]:
    """What a client sends: `after` must accept everything `before` accepted."""
    before, after = old.resolve(before), new.resolve(after)
    found: list[Change] = []
    if depth > 12:
        return found
    if "oneOf" in before or "oneOf" in after:
        alternatives_before = [old.resolve(s) for s in before.get("oneOf", [before])]
        alternatives_after = [new.resolve(s) for s in after.get("oneOf", [after])]
        if len(alternatives_after) < len(alternatives_before):
            found.append(Change(where, "fewer alternatives are accepted"))
        for index, (a, b) in enumerate(zip(alternatives_before, alternatives_after, strict=False)):
            found += _compare_input(f"{where} (alternative {index + 1})", a, b, old, new, depth + 1)
        return found
    type_before, type_after = _type(before), _type(after)
    if type_before and type_after and type_before != type_after:
        found.append(Change(where, f"type {type_before} became {type_after}"))
        return found
    if "enum" in after:
        dropped = set(before.get("enum", [])) - set(after["enum"]) if "enum" in before else {"*"}
        if dropped:
            found.append(Change(where, f"values no longer accepted: {sorted(map(str, dropped))}"))
    for keyword in ("maxLength", "maximum", "maxItems"):
        if keyword in after and after[keyword] < before.get(keyword, float("inf")):
            found.append(Change(where, f"{keyword} lowered to {after[keyword]}"))
    for keyword in ("minLength", "minimum", "minItems"):
        if keyword in after and after[keyword] > before.get(keyword, float("-inf")):
            found.append(Change(where, f"{keyword} raised to {after[keyword]}"))
    if "pattern" in after and after["pattern"] != before.get("pattern"):
        found.append(Change(where, f"a new pattern {after['pattern']!r}"))
    if before.get("nullable") and not after.get("nullable"):
        found.append(Change(where, "null is no longer accepted"))
    if type_after == "object":
        props_before, props_after = before.get("properties", {}), after.get("properties", {})
        required_before = set(before.get("required", []))
        for name in after.get("required", []):
            if name not in required_before:
                found.append(Change(where, f"new required field {name!r}"))
        for name, schema in props_before.items():
            if name not in props_after:
                found.append(Change(where, f"field {name!r} is no longer accepted"))
            else:
                found += _compare_input(
                    f"{where}.{name}", schema, props_after[name], old, new, depth + 1
                )
    if type_after == "array" and "items" in before and "items" in after:
        found += _compare_input(f"{where}[]", before["items"], after["items"], old, new, depth + 1)
    return found


def _compare_output(
    where: str, before: dict, after: dict, old, new, depth: int = 0
) -> list[Change]:
    """What a client reads: everything it could rely on in `before` is still so in `after`."""
    before, after = old.resolve(before), new.resolve(after)
    found: list[Change] = []
    if depth > 12:
        return found
    type_before, type_after = _type(before), _type(after)
    if type_before and type_after and type_before != type_after:
        found.append(Change(where, f"type {type_before} became {type_after}"))
        return found
    if after.get("nullable") and not before.get("nullable"):
        found.append(Change(where, "may now be null"))
    if type_before == "object":
        props_before, props_after = before.get("properties", {}), after.get("properties", {})
        required_after = set(after.get("required", []))
        for name in before.get("required", []):
            if name in props_after and name not in required_after:
                found.append(Change(where, f"field {name!r} is no longer always present"))
        for name, schema in props_before.items():
            if name not in props_after:
                found.append(Change(where, f"field {name!r} is gone"))
            else:
                found += _compare_output(
                    f"{where}.{name}", schema, props_after[name], old, new, depth + 1
                )
    if type_before == "array" and "items" in before and "items" in after:
        found += _compare_output(f"{where}[]", before["items"], after["items"], old, new, depth + 1)
    return found


class _Resolver:
    def __init__(self, document: dict):
        self.document = document

    def resolve(self, node):
        """`node`, with its $ref (and the $ref that points at) followed."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 20:
            target = self.document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target.get(part, {})
            node, seen = target, seen + 1
        return node


def check(released: dict, candidate: dict) -> tuple[list[Change], bool]:
    """The breaking changes, and whether they are allowed (a new major version)."""
    changes = breaking_changes(released, candidate)
    return changes, major(candidate) > major(released)


def main(argv: list[str]) -> int:
    released, candidate = (json.loads(Path(path).read_text()) for path in argv[:2])
    changes, allowed = check(released, candidate)
    for change in changes:
        print(f"{'NOTE' if allowed else 'BREAKING'} {change}")
    if changes and not allowed:
        print(
            f"{len(changes)} breaking change(s) in version {candidate['info']['version']}: make "
            "them additive, or put them in a new major version (a new /api/vN).",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
