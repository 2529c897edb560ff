"""The Pygments lexer: no error tokens on any CCL file, token goldens, keywords = grammar."""

from pathlib import Path

import pytest
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import Error

from ccl.highlight import CclLexer, grammar_keywords
from ccl.syntax.parse import _lark

ROOT = Path(__file__).parent.parent
GOLDEN = ROOT / "tests" / "golden" / "lexer"
# chunked error cases are malformed on purpose
CCL_FILES = sorted(p for p in ROOT.rglob("*.ccl") if "errors" not in p.parts and not {".venv", "build", "site"} & set(p.relative_to(ROOT).parts))


def test_registered_through_the_entry_point():
    assert isinstance(get_lexer_by_name("ccl"), CclLexer)
    assert isinstance(get_lexer_for_filename("bylaws.ccl"), CclLexer)


@pytest.mark.parametrize("path", CCL_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_ccl_file_lexes_without_error_tokens(path):
    errors = [(t, v) for t, v in CclLexer().get_tokens(path.read_text()) if t is Error]
    assert not errors, errors[:5]


def snippet(code: str) -> str:
    """Pygments' snippet-test format: the input, then one `'value'  Token.Type` line per token."""
    lines = ["---input---", code, "---tokens---"]
    for token, value in CclLexer().get_tokens(code):
        lines.append(f"{value!r:<30} {str(token)}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.ccl")), ids=lambda p: p.stem)
def test_token_goldens(path, update_goldens):
    expected = path.with_suffix(".txt")
    actual = snippet(path.read_text())
    if update_goldens:
        expected.write_text(actual)
    assert expected.read_text() == actual


def test_lexer_and_grammar_agree_on_keywords():
    from lark.lexer import PatternStr

    from_parser = {t.pattern.value for t in _lark().terminals
                   if isinstance(t.pattern, PatternStr) and t.pattern.value.replace("_", "").isalpha()}
    assert set(grammar_keywords()) == from_parser


def test_ccl_highlight_command(tmp_path):
    from click.testing import CliRunner

    from ccl.cli.main import cli

    path = ROOT / "contracts" / "patronage.ccl"
    html = CliRunner().invoke(cli, ["highlight", str(path), "--format", "html"])
    assert html.exit_code == 0 and 'class="kd"' in html.stdout
    piped = CliRunner().invoke(cli, ["highlight", str(path)])          # not a terminal: the plain source
    assert piped.exit_code == 0 and piped.stdout == path.read_text()
    term = CliRunner().invoke(cli, ["highlight", str(path), "--color", "always"])
    assert term.exit_code == 0 and "\x1b[" in term.stdout
