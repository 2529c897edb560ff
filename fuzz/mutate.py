"""Mutation of every repository `.ccl` (and every ```ccl block of the docs), random bytes and
token soup — each input a pure function of its seed."""

from __future__ import annotations

import functools
import pathlib
import random
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("contracts", "stdlib", "tests", "bench", "docs", "fuzz/corpus")

TOKEN = re.compile(r'\s*(?:"(?:\\.|[^"\\\n])*"|//[^\n]*|/\*.*?\*/|did:[a-z0-9]+:[A-Za-z0-9._:%-]+|[A-Za-z_]\w*'
                   r'|\d[\d_]*|::|->|=>|&&|\|\||[=!<>+\-*/%]=|.)|\s+', re.S)

DICTIONARY = [
    "fn", "let", "mut", "if", "else", "while", "for", "in", "return", "break", "continue", "match", "emit",
    "require", "struct", "enum", "contract", "state", "role", "proposal", "import", "const", "init", "try",
    "catch", "open", "needs", "true", "false", "None", "Some", "Ok", "Err", "Integer", "String", "Bool",
    "Did", "Array", "Map", "Option", "Result", "run", "x", "_", "self", "@x", "(", ")", "{", "}", "[", "]",
    "<", ">", ",", ";", ":", "::", ".", "=", "==", "!=", "+", "-", "*", "/", "%", "!", "&&", "||", "=>",
    "->", "+=", "0", "1", "-1", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
    "1" + "0" * 30, "3.14", '""', '"a"', '"{}"', '"\\u{1F600}"', '"\\q"', "did:key:z6Mk", "60%", "2/3",
    "7 days", "majority", "quorum", "/*", "*/", "//", "\n", "'", "`", "#", "$", "\\", "\u00e9", "\u202e",
    "\ufeff", "\x00", "map_new()", "[]", "x.push(x)", "string_format", "pow", "assert_eq", "log",
]


@functools.lru_cache(maxsize=1)
def seed_files() -> tuple[tuple[str, str], ...]:
    """(name, text) of every repository .ccl and every ```ccl block in docs/, sorted."""
    out = []
    for d in SOURCE_DIRS:
        base = ROOT / d
        if not base.is_dir():
            continue
        for p in sorted(base.rglob("*.ccl")):
            out.append((str(p.relative_to(ROOT)), p.read_text(encoding="utf-8", errors="replace")))
        if d == "docs":
            for p in sorted(base.rglob("*.md")):
                text = p.read_text(encoding="utf-8", errors="replace")
                for i, m in enumerate(re.finditer(r"```ccl\n(.*?)```", text, re.S)):
                    out.append((f"{p.relative_to(ROOT)}#{i}", m.group(1)))
    return tuple(out)


def tokens(text: str) -> list[str]:
    """Tokens with their leading whitespace: "".join(tokens(t)) == t."""
    return TOKEN.findall(text)


def mutate_tokens(text: str, rng: random.Random, other: str = "") -> str:
    toks = tokens(text) or [""]
    for _ in range(rng.choice([1, 1, 1, 2, 3, 5])):
        n = len(toks)
        i = rng.randrange(n) if n else 0
        op = rng.randrange(7)
        if op == 0 and n > 1:                         # delete a run
            del toks[i:i + rng.choice([1, 1, 2, 5])]
        elif op == 1:                                 # duplicate a run
            toks[i:i] = toks[i:i + rng.choice([1, 3, 10])]
        elif op == 2 and n > 1:                       # swap
            j = rng.randrange(n)
            toks[i], toks[j] = toks[j], toks[i]
        elif op == 3:                                 # replace from the dictionary
            toks[i] = " " + rng.choice(DICTIONARY)
        elif op == 4:                                 # insert from the dictionary
            toks.insert(i, " " + rng.choice(DICTIONARY))
        elif op == 5 and other:                       # splice from another file
            ot = tokens(other)
            j = rng.randrange(len(ot)) if ot else 0
            toks[i:i + rng.randint(0, 5)] = ot[j:j + rng.randint(1, 30)]
        else:                                         # repeat a token many times (deep nesting)
            toks.insert(i, toks[i % n] * rng.choice([10, 100, 300]) if n else "(")
    return "".join(toks)


INTERESTING_BYTES = [b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\xe2\x80\xae", b"\n", b"\r",
                     b"\"", b"\\", b"{", b"}", b"(", b"/*", b"\t", b"9" * 40]


def mutate_bytes(text: str, rng: random.Random) -> str:
    data = bytearray(text.encode("utf-8"))
    for _ in range(rng.choice([1, 1, 2, 4, 8])):
        n = len(data)
        i = rng.randrange(n + 1)
        op = rng.randrange(5)
        if op == 0 and n:
            data[i % n] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[i:i] = bytes([rng.randrange(256)])
        elif op == 2 and n:
            del data[i:i + rng.randint(1, 16)]
        elif op == 3:
            data[i:i] = rng.choice(INTERESTING_BYTES)
        else:
            j = rng.randrange(n + 1)
            data[i:i] = data[j:j + rng.randint(1, 32)]
    return data.decode("utf-8", errors="replace")


def mutation(seed: int) -> tuple[str, str]:
    """(description, source) for a mutation seed: file chosen by seed, then token or byte edits."""
    rng = random.Random(f"ccl-fuzz-mutate-{seed}")
    files = seed_files()
    name, text = files[seed % len(files)]
    if rng.random() < 0.6:
        other = rng.choice(files)[1]
        return f"tokens:{name}", mutate_tokens(text, rng, other)
    return f"bytes:{name}", mutate_bytes(text, rng)


SOUP = [t.strip() or t for t in DICTIONARY] + ["x", "y", "f", "S", "E", "A", "1", "2"]


def random_input(seed: int) -> tuple[str, str]:
    """Random bytes (half) or token soup (half)."""
    rng = random.Random(f"ccl-fuzz-random-{seed}")
    if seed % 2:
        return "bytes", rng.randbytes(rng.choice([0, 1, 4, 16, 64, 256])).decode("utf-8", errors="replace")
    n = rng.choice([1, 5, 20, 60, 150])
    return "soup", " ".join(rng.choice(SOUP) for _ in range(n))
