"""A stable, indented text form of the AST (used by parse goldens and for debugging).

Imports attrs and ccl.syntax.ast. Each node prints as `Name@line:col` followed by its fields;
spans other than the start are left out so goldens stay readable.
"""

from __future__ import annotations

import attrs

from ccl.diag import Span


def dump(node, indent: int = 0) -> str:
    out: list[str] = []
    _dump(node, indent, out, "")
    return "\n".join(out) + "\n"


def _dump(node, indent, out, label):
    pad = "  " * indent + (f"{label}: " if label else "")
    if attrs.has(type(node)) and not isinstance(node, Span):
        span = getattr(node, "span", None)
        where = f"@{span.line}:{span.col}" if span is not None else ""
        scalars, children = [], []
        for field in attrs.fields(type(node)):
            if field.name in ("span", "file", "size") or field.name.endswith(("_span", "_spans")):
                continue
            v = getattr(node, field.name)
            if _is_scalar(v):
                if v not in (None, (), False) or field.name in ("value",):
                    scalars.append(f"{field.name}={v!r}")
            else:
                children.append((field.name, v))
        out.append(f"{pad}{type(node).__name__}{where} {' '.join(scalars)}".rstrip())
        for name, v in children:
            if isinstance(v, tuple):
                if not v:
                    continue
                out.append("  " * (indent + 1) + f"{name}:")
                for item in v:
                    _dump(item, indent + 2, out, "")
            else:
                _dump(v, indent + 1, out, name)
    else:
        out.append(f"{pad}{node!r}")


def _is_scalar(v) -> bool:
    if isinstance(v, tuple):
        return all(isinstance(x, (str, int, bool)) for x in v)
    return v is None or isinstance(v, (str, int, bool))
