"""CCL values at the boundary: JSON in (checked against parameter types), JSON out.

Runtime representation (shared by both VM paths and the builtins): Integer → int, Bool → bool,
String and Did → str, Array → list, Map → dict (insertion-ordered), struct → list of field
values in declaration order, Option/Result/enum → tuple (tag, *payload) with None = (0,),
Some(x) = (1, x), Ok(x) = (0, x), Err(e) = (1, e), Unit → None.
JSON mapping (LANGUAGE.md §5): Option ↔ value or null, enum ↔ "Variant" or {"Variant": payload},
Result ↔ {"Ok": v} / {"Err": e}, struct ↔ object. Imports leaves and ccl.compile.module.
"""

from __future__ import annotations

from typing import Optional, Union

from ccl import limits, types as ty
from ccl.diag import LONE_SURROGATE, lone_surrogate
from ccl.compile.module import Module
from ccl.types import T


class ArgError(Exception):
    """An argument that does not fit: a type error (E0218), or JSON CCL cannot hold at all —
    fractions, nesting past the limit — a usage error (U0702)."""

    def __init__(self, message: str, code: str = "E0218", hint: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code
        self.hint = hint


FRACTION_HINT = "CCL numbers are whole: give amounts in minor units (150 for 1.50)"
DEPTH_HINT = f"arguments nest at most {limits.value_depth_max} levels deep"


def _refuse_fraction(text: str):
    raise ArgError(f"--args holds the fractional number {text[:40]}", "U0702", FRACTION_HINT)


def load_args(text: str):
    """`--args` text → JSON, refusing what no CCL value can be: fractions, NaN and infinities,
    nesting deeper than values may nest (ArgError U0702); malformed JSON raises
    json.JSONDecodeError as json.loads does."""
    import json

    try:
        value = json.loads(text, parse_float=_refuse_fraction, parse_constant=_refuse_fraction)
    except RecursionError:
        raise ArgError("--args is nested too deeply", "U0702", DEPTH_HINT) from None
    check_depth(value)
    return value


def check_depth(v, where: str = "--args", limit: int = limits.value_depth_max) -> None:
    """Refuse JSON nested deeper than `limit` (iteratively: any depth is safe here)."""
    stack = [(v, 0)]
    while stack:
        x, depth = stack.pop()
        if isinstance(x, (list, dict)):
            if depth >= limit:
                raise ArgError(f"{where} is nested more than {limit} deep", "U0702", DEPTH_HINT)
            stack.extend((y, depth + 1) for y in (x.values() if isinstance(x, dict) else x))
        elif isinstance(x, float):
            raise ArgError(f"{where} holds the fractional number {x!r}", "U0702", FRACTION_HINT)


class Types:
    """Struct and enum declarations of a module, for converting values."""

    def __init__(self, module: Module):
        self.structs = {n: [(f, ty.from_descriptor(t)) for f, t in fields] for n, fields in module.structs}
        self.enums = {n: [(v, [ty.from_descriptor(t) for t in ts]) for v, ts in vs] for n, vs in module.enums}


# A JSON value, as json.loads gives it (without floats: CCL has none)
Json = Union[None, bool, int, str, list["Json"], dict[str, "Json"]]


def from_json(t: T, v, types: Optional[Types], where: str = "argument", depth: int = 0):
    """`v` (JSON) as a CCL value of type `t`. `types`: the module's structs and enums (None for a
    type that names none, such as the parameters of a kind no module declares)."""
    if depth == 0:              # an enum with a payload list is two JSON levels for one CCL level
        check_depth(v, where, 2 * limits.value_depth_max)
    name = t.name
    if name == "Integer":
        if type(v) is not int:
            raise ArgError(f"{where} should be an Integer, got {_json_kind(v)}")
        if not limits.int_min <= v <= limits.int_max:
            raise ArgError(f"{where} {v} does not fit in 64 bits")
        return v
    if name == "Bool":
        if type(v) is not bool:
            raise ArgError(f"{where} should be a Bool (true/false), got {_json_kind(v)}")
        return v
    if name in ("String", "Did"):
        if type(v) is not str:
            raise ArgError(f"{where} should be a {name} (a JSON string), got {_json_kind(v)}")
        if len(v) > limits.string_length_max:
            raise ArgError(f"{where} is longer than {limits.string_length_max} code points")
        _unicode(v, where)
        if name == "Did" and not v.startswith("did:"):
            raise ArgError(f"{where} should be a DID such as \"did:key:z6Mk…\", got {v!r}")
        return v
    if name == "Array":
        if type(v) is not list:
            raise ArgError(f"{where} should be an Array (a JSON list), got {_json_kind(v)}")
        return [from_json(t.args[0], x, types, f"{where}[{i}]", depth + 1) for i, x in enumerate(v)]
    if name == "Map":
        if type(v) is not dict:
            raise ArgError(f"{where} should be a Map (a JSON object), got {_json_kind(v)}")
        out = {}
        for k, x in v.items():
            key = k
            _unicode(k, f"{where} key")
            if t.args[0] == ty.INT:
                try:
                    key = int(k)
                except ValueError:
                    raise ArgError(f"{where} key {k!r} should be an Integer") from None
            out[key] = from_json(t.args[1], x, types, f"{where}[{k!r}]", depth + 1)
        return out
    if name == "Option":
        return (0,) if v is None else (1, from_json(t.args[0], v, types, where, depth + 1))
    if name == "Result":
        if type(v) is dict and len(v) == 1:
            (k, x), = v.items()
            if k == "Ok":
                return (0, from_json(t.args[0], x, types, where, depth + 1))
            if k == "Err":
                return (1, from_json(t.args[1], x, types, where, depth + 1))
        raise ArgError(f"{where} should be {{\"Ok\": …}} or {{\"Err\": …}}")
    if t.kind == "struct":
        assert types is not None
        fields = types.structs[name]
        if type(v) is not dict:
            raise ArgError(f"{where} should be a {name} object, got {_json_kind(v)}")
        extra = set(v) - {f for f, _ in fields}
        if extra:
            raise ArgError(f"{where}: `{name}` has no field `{sorted(extra)[0]}`")
        values = []
        for f, ft in fields:
            if f not in v:
                raise ArgError(f"{where}: `{name}` needs field `{f}`")
            values.append(from_json(ft, v[f], types, f"{where}.{f}", depth + 1))
        return values
    if t.kind == "enum":
        assert types is not None
        variants = types.enums[name]
        names = [n for n, _ in variants]
        if type(v) is str and v in names and not variants[names.index(v)][1]:
            return (names.index(v),)
        if type(v) is dict and len(v) == 1:
            (k, x), = v.items()
            if k in names:
                i = names.index(k)
                payload = variants[i][1]
                items = x if len(payload) != 1 else [x]
                if type(items) is list and len(items) == len(payload):
                    return (i, *(from_json(pt, px, types, f"{where}.{k}", depth + 1)
                                 for pt, px in zip(payload, items)))
        raise ArgError(f"{where} should be one of {', '.join(names)} of `{name}`")
    return _dynamic_from_json(v)


def _dynamic_from_json(v):
    if isinstance(v, list):
        return [_dynamic_from_json(x) for x in v]
    if isinstance(v, dict):
        return {k: _dynamic_from_json(x) for k, x in v.items()}
    return v


def _unicode(s: str, where: str) -> None:
    """A CCL String is Unicode scalar values: JSON's `\\ud800` escapes can name a lone surrogate."""
    if lone_surrogate(s) is not None:
        raise ArgError(f"{where} {LONE_SURROGATE}")


def _json_kind(v) -> str:
    return {bool: "a Bool", int: "a number", str: "a string", list: "a list", dict: "an object",
            type(None): "null", float: "a fractional number"}.get(type(v), type(v).__name__)


def to_json(t: T, v, types: Types):
    name = t.name
    if v is None or name in ("Integer", "Bool", "String", "Did", "Unit"):
        return v
    if name == "Array":
        return [to_json(t.args[0], x, types) for x in v]
    if name == "Map":
        return {str(k): to_json(t.args[1], x, types) for k, x in v.items()}
    if name == "Option":
        return None if v[0] == 0 else to_json(t.args[0], v[1], types)
    if name == "Result":
        return {"Ok": to_json(t.args[0], v[1], types)} if v[0] == 0 else {"Err": to_json(t.args[1], v[1], types)}
    if t.kind == "struct":
        return {f: to_json(ft, x, types) for (f, ft), x in zip(types.structs[name], v)}
    if t.kind == "enum":
        vname, payload = types.enums[name][v[0]]
        if not payload:
            return vname
        items = [to_json(pt, x, types) for pt, x in zip(payload, v[1:])]
        return {vname: items[0] if len(items) == 1 else items}
    return dynamic_to_json(v)


def dynamic_to_json(v):
    """Best effort for values typed `Any` (generic results): tuples become tagged lists."""
    if isinstance(v, tuple):
        return [dynamic_to_json(x) for x in v]
    if isinstance(v, list):
        return [dynamic_to_json(x) for x in v]
    if isinstance(v, dict):
        return {str(k): dynamic_to_json(x) for k, x in v.items()}
    return v


def to_text(t: T, v, types: Types) -> str:
    """Human rendering for `ccl run` without --json."""
    import json

    j = to_json(t, v, types)
    if isinstance(j, str) and t.name in ("String", "Did"):
        return j
    return json.dumps(j, ensure_ascii=False)
