"""Static types of CCL, shared by the checker, the host table, the compiler and the VM boundary.

Owns the type values (frozen attrs), parsing of type strings used by the host table
(`Array<T>`, `Map<K, V>`), assignability with wildcards, type-variable binding for builtin
signatures, and the compact type descriptors stored in bytecode modules (so a `.cclb` can
check JSON arguments without its source). Imports only attrs.
"""

from __future__ import annotations

from typing import Union

import attrs


@attrs.frozen
class T:
    """A type: a constructor name and type arguments. `Any` matches everything."""

    name: str
    args: tuple[T, ...] = ()
    kind: str = "builtin"      # builtin | struct | enum | var

    def __str__(self) -> str:
        if self.name == "Array":
            return f"Array<{self.args[0]}>"
        if self.args:
            return f"{self.name}<{', '.join(str(a) for a in self.args)}>"
        return self.name


INT = T("Integer")
BOOL = T("Bool")
STR = T("String")
DID = T("Did")
UNIT = T("Unit")
ANY = T("Any")
NEVER = T("Never")           # the type of `return …` used as an expression


def array(elem: T) -> T:
    return T("Array", (elem,))


def map_of(key: T, value: T) -> T:
    return T("Map", (key, value))


def option(inner: T) -> T:
    return T("Option", (inner,))


def result(ok: T, err: T = STR) -> T:
    return T("Result", (ok, err))


# Source names that mean a builtin type; aliases share one type (LANGUAGE.md §3).
ALIASES = {
    "Integer": INT, "Int": INT, "int": INT, "Mana": INT, "Timestamp": INT, "Duration": INT,
    "Bool": BOOL, "Boolean": BOOL, "bool": BOOL,
    "String": STR, "string": STR,
    "Did": DID, "did": DID,
    "Unit": UNIT,
}
GENERIC_ARITY = {"Array": 1, "Map": 2, "map": 2, "Option": 1, "Result": (1, 2)}
MAP_KEYS = ("Integer", "String", "Did")


def is_any(t: T) -> bool:
    return t.name == "Any" or t.kind == "var"


def rigid(t: T, names) -> T:
    """Inside a generic function's body its type parameters are rigid (kind 'param'): a T is
    only a T, never an Integer (callers still instantiate them, as kind 'var')."""
    if t.kind == "var" and t.name in names:
        return T(t.name, (), "param")
    if not t.args:
        return t
    return T(t.name, tuple(rigid(a, names) for a in t.args), t.kind)


def assignable(src: T, dst: T) -> bool:
    """Can a value of type `src` be used where `dst` is expected? (Any matches anything.)"""
    if src == dst or is_any(src) or is_any(dst) or src.name == "Never":
        return True
    if src.name != dst.name or len(src.args) != len(dst.args) or src.kind != dst.kind:
        return False
    return all(assignable(a, b) for a, b in zip(src.args, dst.args))


def join(a: T, b: T) -> T:
    """The more precise of two compatible types (used for `[]`, `None` and match arms)."""
    if a.name == "Never" or is_any(a):
        return b
    if b.name == "Never" or is_any(b):
        return a
    if a.args and len(a.args) == len(b.args):
        return T(a.name, tuple(join(x, y) for x, y in zip(a.args, b.args)), a.kind)
    return a


def bind(pattern: T, actual: T, env: dict) -> bool:
    """Match a signature type with variables (kind 'var') against an actual type."""
    if pattern.kind == "var":
        if pattern.name in env:
            if not assignable(actual, env[pattern.name]):
                return False
            env[pattern.name] = join(env[pattern.name], actual)
            return True
        env[pattern.name] = actual
        return True
    if is_any(actual) or actual.name == "Never":
        return True
    if pattern.name != actual.name or len(pattern.args) != len(actual.args):
        return False
    return all(bind(p, a, env) for p, a in zip(pattern.args, actual.args))


def substitute(t: T, env: dict) -> T:
    if t.kind == "var":
        return env.get(t.name, ANY)
    if not t.args:
        return t
    return T(t.name, tuple(substitute(a, env) for a in t.args), t.kind)


def parse_signature_type(text: str, type_vars=("T", "K", "V", "E")) -> T:
    """Parse a type string of the host table: `Array<T>`, `Map<K, V>`, `Option<Integer>`."""
    pos = 0

    def parse_one() -> T:
        nonlocal pos
        start = pos
        while pos < len(text) and (text[pos].isalnum() or text[pos] == "_"):
            pos += 1
        name = text[start:pos]
        args = []
        if pos < len(text) and text[pos] == "<":
            pos += 1
            while True:
                while text[pos] == " ":
                    pos += 1
                args.append(parse_one())
                while text[pos] == " ":
                    pos += 1
                if text[pos] == ",":
                    pos += 1
                    continue
                assert text[pos] == ">", text
                pos += 1
                break
        if name in type_vars:
            return T(name, (), "var")
        if name in ALIASES:
            return ALIASES[name]
        if name == "Result" and len(args) == 1:
            args.append(STR)
        return T(name, tuple(args))

    t = parse_one()
    assert pos == len(text), text
    return t


# ---------------------------------------------------------------- descriptors in bytecode

# A type as bytecode stores it: "Integer", "struct:Vote", ["Array", "Integer"], …
Descriptor = Union[str, list["Descriptor"]]


def to_descriptor(t: T) -> Descriptor:
    """A CBOR-friendly form: a string for nullary types, a list for applied ones."""
    tag = t.name if t.kind in ("builtin", "var", "param") else f"{t.kind}:{t.name}"
    if not t.args:
        return tag
    return [tag, *(to_descriptor(a) for a in t.args)]


def from_descriptor(d) -> T:
    args: tuple[T, ...]
    if isinstance(d, str):
        name, args = d, ()
    elif isinstance(d, list) and d and isinstance(d[0], str):
        name, args = d[0], tuple(from_descriptor(x) for x in d[1:])
    else:
        raise ValueError("malformed type descriptor")
    if ":" in name:
        kind, name = name.split(":", 1)
        if kind not in ("struct", "enum"):
            raise ValueError("malformed type descriptor")
        return T(name, args, kind)
    return T(name, args)
