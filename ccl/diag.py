"""Spans, diagnostics and their rendering.

Owns: `Span` (file, line, col, end), `Diagnostic` (kind, code, message, span, hints) and the
`CclError` exception that carries one across layers, plus text rendering with the source line
and a caret. Imports nothing of ccl: every layer may import it.
"""

from __future__ import annotations

import attrs

KINDS = ("parse", "type", "runtime", "gas", "limit", "host", "usage", "integrity", "environment")


@attrs.frozen
class Span:
    file: str = "<input>"
    line: int = 0            # 1-based; 0 means "no location"
    col: int = 0             # 1-based, in code points
    end_line: int = 0
    end_col: int = 0

    def to(self, other: "Span") -> "Span":
        return Span(self.file, self.line, self.col, other.end_line, other.end_col)


NO_SPAN = Span()


@attrs.frozen
class Diagnostic:
    kind: str
    code: str
    message: str
    span: Span = NO_SPAN
    hints: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "code": self.code,
            "message": self.message,
            "file": self.span.file,
            "line": self.span.line,
            "col": self.span.col,
            **({"hint": "; ".join(self.hints)} if self.hints else {}),
        }


class CclError(Exception):
    """A user-facing failure: always carries exactly one primary diagnostic."""

    def __init__(self, diagnostic: Diagnostic, more: tuple[Diagnostic, ...] = ()):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic
        self.more = more

    @property
    def kind(self) -> str:
        return self.diagnostic.kind

    @property
    def all(self) -> tuple[Diagnostic, ...]:
        return (self.diagnostic, *self.more)


# Every diagnostic code, its kind and a title: one table, documented in docs/errors.md.
CODES: dict[str, tuple[str, str]] = {
    # parse
    "E0100": ("parse", "unexpected token"),
    "E0101": ("parse", "unexpected character"),
    "E0102": ("parse", "invalid string escape"),
    "E0103": ("parse", "integer literal out of 64-bit range"),
    "E0104": ("parse", "unterminated string"),
    "E0105": ("parse", "unterminated block comment"),
    "E0106": ("parse", "unexpected end of file"),
    "E0107": ("parse", "source is not valid UTF-8"),
    "E0108": ("parse", "expression statement needs `;`"),
    "E0109": ("parse", "malformed declaration"),
    # type (every static check)
    "E0200": ("type", "duplicate definition"),
    "E0201": ("type", "unknown type"),
    "E0202": ("type", "type mismatch"),
    "E0203": ("type", "undefined name"),
    "E0204": ("type", "undefined function"),
    "E0205": ("type", "wrong number of arguments"),
    "E0206": ("type", "not assignable"),
    "E0207": ("type", "variable may be unassigned"),
    "E0208": ("type", "missing return"),
    "E0209": ("type", "break or continue outside a loop"),
    "E0210": ("type", "floating-point literal"),
    "E0211": ("type", "unknown field"),
    "E0212": ("type", "invalid pattern"),
    "E0213": ("type", "unknown method"),
    "E0214": ("type", "import failed"),
    "E0215": ("type", "import cycle"),
    "E0216": ("type", "constant is not computable at compile time"),
    "E0217": ("type", "entry point not found"),
    "E0218": ("type", "argument does not match the parameter type"),
    "E0219": ("type", "unsupported construct"),
    "E0220": ("type", "missing field"),
    "E0221": ("type", "`open` or `needs` outside a contract"),
    "E0222": ("type", "unknown role"),
    "E0223": ("type", "unknown permission"),
    "E0224": ("type", "a proposal's execution does more than its kind's `can:`"),
    "E0225": ("type", "malformed `Amendment` kind"),
    "E0226": ("type", "a `private:` declaration that names no private input or no String parameter"),
    # runtime
    "R0300": ("runtime", "integer overflow"),
    "R0301": ("runtime", "division by zero"),
    "R0302": ("runtime", "index out of range"),
    "R0303": ("runtime", "requirement failed"),
    "R0304": ("runtime", "no match arm"),
    "R0305": ("runtime", "key not found"),
    "R0306": ("runtime", "invalid argument to a builtin"),
    "R0307": ("runtime", "malformed module at run time"),
    "R0308": ("runtime", "assertion failed"),
    # gas
    "G0400": ("gas", "out of gas"),
    # limits
    "L0500": ("limit", "source too large"),
    "L0501": ("limit", "nesting too deep"),
    "L0502": ("limit", "call depth exceeded"),
    "L0503": ("limit", "collection too large"),
    "L0504": ("limit", "string too long"),
    "L0505": ("limit", "memory limit exceeded"),
    "L0506": ("limit", "too many events"),
    "L0507": ("limit", "module too large"),
    "L0508": ("limit", "value nested too deep"),
    "L0509": ("limit", "input too long"),
    "L0510": ("limit", "too many requests"),
    "L0511": ("limit", "quota exceeded"),
    "L0520": ("limit", "compile took too long"),
    "L0521": ("limit", "compile needed too much memory"),
    # host
    "H0600": ("host", "host function refused"),
    # usage
    "U0700": ("usage", "bad command-line argument"),
    "U0701": ("usage", "file not found"),
    "U0702": ("usage", "bad --args JSON"),
    "U0703": ("usage", "a state-changing run needs a signing key"),
    "U0704": ("usage", "the workspace is not founded"),
    "U0705": ("usage", "a clock set by hand outside a demo workspace"),
    "U0706": ("usage", "a workspace from before founding"),
    "U0707": ("usage", "a module clashes with an adopted contract"),
    "U0708": ("usage", "a retired command"),
    "U0709": ("usage", "a workspace of another history format"),
    "U0710": ("usage", "formatting would change the program"),
    "U0711": ("usage", "a private declaration that names no private input"),
    "U0712": ("usage", "not a ccl backup or CAR export"),
    # integrity
    "I0800": ("integrity", "malformed bytecode"),
    "I0801": ("integrity", "content id mismatch"),
    "I0802": ("integrity", "bad signature"),
    "I0803": ("integrity", "replay mismatch"),
    "I0804": ("integrity", "the state differs from its root"),
    "I0805": ("integrity", "a block that is not strict DAG-CBOR"),
    # environment
    "N0900": ("environment", "cannot read or write a file"),
    "N0902": ("environment", "the store is unavailable"),
    "N0903": ("environment", "concurrent runs kept conflicting"),
}


def error(code: str, message: str, span: Span = NO_SPAN, *hints: str) -> CclError:
    kind = CODES[code][0]
    return CclError(Diagnostic(kind, code, message, span, tuple(h for h in hints if h)))


def render(d: Diagnostic, source: str | None = None) -> str:
    """`file:line:col: error[E0203]: message`, the source line, a caret, then hints."""
    loc = d.span.file
    if d.span.line:
        loc += f":{d.span.line}:{d.span.col}"
    out = [f"{loc}: {d.kind} error[{d.code}]: {d.message}"]
    if source is not None and d.span.line:
        lines = source.splitlines()
        if 0 < d.span.line <= len(lines):
            text = lines[d.span.line - 1].replace("\t", " ")
            col = max(d.span.col - 1, 0)
            width = 1
            if d.span.end_line == d.span.line and d.span.end_col > d.span.col:
                width = d.span.end_col - d.span.col
            if len(text) > 100:                      # show a window around the column
                start = max(col - 40, 0)
                text = ("…" if start else "") + text[start:start + 80] + ("…" if start + 80 < len(text) else "")
                col = col - start + (1 if start else 0)
                width = min(width, 80 - (col - (1 if start else 0)))
            gutter = f"{d.span.line:>4} | "
            out.append(gutter + text)
            out.append(" " * (len(gutter) + col) + "^" * max(width, 1))
    for hint in d.hints:
        out.append(f"  hint: {hint}")
    return "\n".join(out)


def did_you_mean(name: str, candidates) -> str:
    """A hint naming the closest candidate, or '' when nothing is close (deterministic)."""
    import difflib

    names = sorted(set(candidates))
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.7)
    return f"did you mean `{close[0]}`?" if close else ""


LONE_SURROGATE = ("holds a lone surrogate (a \\uD800–\\uDFFF escape that is not half of a pair): "
                  "text must be Unicode characters")


def lone_surrogate(text: str):
    """The index of the first lone surrogate in `text`, or None when it is Unicode text. A str
    from JSON (`"\\ud800"`) or from the OS (a file name that is not UTF-8) can hold one; CBOR,
    UTF-8 output and every CCL String cannot."""
    try:
        text.encode("utf-8")
        return None
    except UnicodeEncodeError as e:
        return e.start


def printable_name(file: str) -> str:
    """A file name as a module records it: Unicode text. A name that is not UTF-8 on disk comes
    from the OS with surrogate escapes; its undecodable bytes become U+FFFD."""
    if lone_surrogate(file) is None:
        return file
    return file.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
