"""`ccl fmt`: canonical layout for CCL source, computed from its tokens.

The formatter keeps every token — comments included — in order, and keeps the author's line
breaks; it decides everything else: indentation (four spaces per open `{`, one more level for
lines continuing inside `(` or `[`), the spaces between tokens on a line, trailing white space,
at most one blank line in a row (none just inside braces), and one newline at the end. Because
the layout is a function of the token sequence and the line breaks, formatting twice gives the
same text as formatting once. Strings and block comments spanning lines are copied unchanged.

Imports only the standard library (the lexer here is small and exact; it must accept any text
the parser accepts, and it is not used for parsing).
"""

from __future__ import annotations

import re
from typing import cast

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\f]+)
  | (?P<nl>\n)
  | (?P<line_comment>//[^\n]*)
  | (?P<block_comment>/\*.*?\*/)
  | (?P<string>"(?:\\.|[^"\\])*")
  | (?P<did>did:[a-z0-9]+:[A-Za-z0-9._:%-]*[A-Za-z0-9_%-])
  | (?P<number>\d[\d_]*(?:\.\d[\d_]*)?%?)
  | (?P<word>@?[A-Za-z_]\w*)
  | (?P<op>::|->|=>|==|!=|<=|>=|&&|\|\||\+=|-=|\*=|/=|%=|[-+*/%<>=!{}()\[\];,.:])
  | (?P<other>.)
""", re.S | re.X)

KEYWORDS_BEFORE_PAREN = {"if", "while", "for", "match", "return", "in", "else", "try", "catch"}
GENERIC_TYPES = {"Array", "Map", "map", "Option", "Result", "token"}
BINARY = {"=", "==", "!=", "<=", ">=", "&&", "||", "+=", "-=", "*=", "/=", "%=", "=>", "->", "+", "-", "*",
          "/", "%", "<", ">"}
OPENERS = {"(": ")", "[": "]", "{": "}"}


def tokens(text: str) -> list[tuple[str, str]]:
    out = []
    for m in _TOKEN.finditer(text):
        kind = cast(str, m.lastgroup)       # every alternative is a named group (`other` takes the rest)
        out.append((kind, m.group()))
    return out


def format_source(text: str) -> str:
    lines = _lines(tokens(text.replace("\r\n", "\n")))
    out: list[str] = []
    stack: list[str] = []                 # open brackets, innermost last
    blank = False
    for line in lines:
        if not line:
            blank = True
            continue
        first = line[0][1]
        closing = first in ("}", ")", "]")
        depth = _indent(stack, closing)
        if blank and out and not out[-1].rstrip().endswith("{") and not closing:
            out.append("")
        blank = False
        out.append("    " * depth + _join(line))
        for _, value in line:
            if value in OPENERS:
                stack.append(value)
            elif value in (")", "]", "}") and stack:
                stack.pop()
    return "\n".join(out).rstrip("\n") + "\n" if out else ""


def _indent(stack: list[str], closing: bool) -> int:
    levels = list(stack)
    if closing and levels:
        levels.pop()
    depth = 0
    for i, b in enumerate(levels):
        if b == "{":
            depth += 1
        elif i == len(levels) - 1 or levels[i + 1] == "{":
            depth += 1                     # one continuation level per open ( or [ group
    return depth


def _lines(toks: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    lines: list[list] = [[]]
    for kind, value in toks:
        if kind == "ws":
            continue
        if kind == "nl":
            lines.append([])
            continue
        lines[-1].append((kind, value))
    return lines


def _join(line: list[tuple[str, str]]) -> str:
    parts: list[str] = []
    generic = 0
    fraction = False
    scoped = False                  # inside `can: [ … ]`, where `mint:RIV` is one scoped permission
    for i, (kind, value) in enumerate(line):
        prev = line[i - 1] if i else None
        nxt = line[i + 1] if i + 1 < len(line) else None
        if value == "]":
            scoped = False
        if scoped and (value == ":" or (prev is not None and prev[1] == ":")):
            parts.append(value)
            continue
        if value == "[" and i >= 2 and line[i - 1][1] == ":" and line[i - 2][1] == "can":
            scoped = True
        if value == "<" and prev and (prev[1] in GENERIC_TYPES or (prev[0] == "word" and prev[1][:1].isupper()
                                                                    and nxt and nxt[1][:1].isupper())):
            generic += 1
            parts.append("<")
            continue
        if value == ">" and generic:
            generic -= 1
            parts.append(">")
            continue
        if prev is not None and prev[1] == "(" and i >= 2 and line[i - 2][1] == "supermajority":
            fraction = True
        if value == ")":
            fraction = False
        if prev is not None and _space(prev, (kind, value), line, i, generic, fraction):
            parts.append(" ")
        parts.append(value)
    return "".join(parts)


def _space(prev, cur, line, i, generic, fraction) -> bool:
    p, c = prev[1], cur[1]
    if cur[0] == "line_comment" or prev[0] == "line_comment":
        return True
    if p in ("(", "[", "::", ".", "!") or c in (")", "]", ",", ";", ".", "::", ":"):
        return False
    if p == "{" and c == "}":
        return False
    if generic and (p == "<" or c in ("<", ">")):
        return False
    if generic and p == ">" and c == ">":
        return False
    if fraction and (p == "/" or c == "/"):
        return False
    if c in ("(", "[") and (prev[0] in ("word", "string", "did") or p in (")", "]", ">")):
        return prev[1] in KEYWORDS_BEFORE_PAREN or (c == "[" and prev[0] != "word" and p not in (")", "]"))
    if p == "-" and _unary(line, i - 1):
        return False
    return True


def _unary(line, j) -> bool:
    """Is the `-` at position j a prefix minus?"""
    if j == 0:
        return True
    before = line[j - 1]
    return before[1] in BINARY or before[1] in ("(", "[", "{", ",", ":", ";", "return", "=>", "!") or (
        before[0] == "word" and before[1] in KEYWORDS_BEFORE_PAREN)
