"""The Pygments lexer for CCL, registered as the `ccl` lexer (entry point `pygments.lexers`), so
`pygmentize -l ccl`, MkDocs and Sphinx highlight CCL without configuration.

Keywords are read from the grammar's own string terminals and types from ccl.types, so the lexer
and the parser cannot disagree on them; host functions and builtins (from the host table) are
highlighted as builtins. Imports pygments, ccl.types and ccl.hosttable.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Whitespace

from ccl import types as ty
from ccl.hosttable import HOST_TABLE, PRELUDE_STRUCTS


@lru_cache(maxsize=1)
def grammar_keywords() -> tuple[str, ...]:
    """Every alphabetic string terminal of grammar.lark, e.g. `let`, `proposal`, `quorum`."""
    text = resources.files("ccl.syntax").joinpath("grammar.lark").read_text(encoding="utf-8")
    code = "\n".join(line.split("//", 1)[0] for line in text.splitlines())
    found = set(re.findall(r'"([a-z_]+)"', code))
    found.add("mut")
    return tuple(sorted(found))


CONSTANTS = ("true", "false")
TYPES = tuple(sorted({*ty.ALIASES, *ty.GENERIC_ARITY, *PRELUDE_STRUCTS}))
BUILTINS = tuple(sorted({row.name for row in HOST_TABLE} | {"Some", "None", "Ok", "Err"}))
DURATION = r"(days?|hours?|minutes?|seconds?)\b"


class CclLexer(RegexLexer):
    """CCL — the Cooperative Contract Language of the InterCooperative Network."""

    name = "CCL"
    aliases = ["ccl"]
    filenames = ["*.ccl"]
    mimetypes = ["text/x-ccl"]
    url = "https://github.com/InterCooperative-Network/icn-core"

    tokens = {
        "root": [
            (r"[ \t\r\f]+", Whitespace),
            (r"\n", Whitespace),
            (r"//[^\n]*", Comment.Single),
            (r"/\*", Comment.Multiline, "comment"),
            (r'"', String.Double, "string"),
            (r"did:[a-z0-9]+:[A-Za-z0-9._:%-]*[A-Za-z0-9_%-]", String.Other),
            (r"\d+%", Number.Other),                                      # a percentage
            (r"(\d+)(\s*/\s*)(\d+)(?=\s*\))", bygroups(Number.Other, Operator, Number.Other)),  # 2/3
            (r"(\d[\d_]*)(\s+)" + DURATION, bygroups(Number.Integer, Whitespace, Keyword.Type)),
            (r"\d[\d_]*\.\d[\d_]*", Number.Float),
            (r"\d[\d_]*", Number.Integer),
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (r"(fn)(\s+)([A-Za-z_]\w*)", bygroups(Keyword.Declaration, Whitespace, Name.Function)),
            (r"(contract|struct|enum|role|proposal|class)(\s+)([A-Za-z_]\w*)",
             bygroups(Keyword.Declaration, Whitespace, Name.Class)),
            (words(tuple(k for k in grammar_keywords() if k not in CONSTANTS), suffix=r"\b"), Keyword),
            (words(TYPES, suffix=r"\b"), Keyword.Type),
            (words(BUILTINS, suffix=r"\b"), Name.Builtin),
            (r"@[A-Za-z_]\w*", Name.Variable.Instance),
            (r"[A-Za-z_]\w*", Name),
            (r"::|->|=>|==|!=|<=|>=|&&|\|\||\+=|-=|\*=|/=|%=|[-+*/%<>=!]", Operator),
            (r"[{}()\[\];,.:]", Punctuation),
        ],
        "string": [
            (r'\\(["\\ntr]|u\{[0-9A-Fa-f]{1,6}\})', String.Escape),
            (r'\\.', String.Escape),
            (r'"', String.Double, "#pop"),
            (r'[^"\\]+', String.Double),
        ],
        "comment": [
            (r"\*/", Comment.Multiline, "#pop"),
            (r"[^*]+", Comment.Multiline),
            (r"\*", Comment.Multiline),
        ],
    }


def highlight(text: str, fmt: str = "terminal") -> str:
    from pygments import highlight as render
    from pygments.formatters import HtmlFormatter, TerminalFormatter

    formatter = HtmlFormatter(full=True, title="CCL") if fmt == "html" else TerminalFormatter()
    return render(text, CclLexer(), formatter)
