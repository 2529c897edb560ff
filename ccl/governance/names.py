"""Display names members choose, and the look-alike test that keeps them apart.

Owns the rules for a display name (`check_display_name`) and its confusable skeleton
(`skeleton`): two names with the same skeleton look alike, so a co-op keeps only one of them and
nobody pays a look-alike. Both run inside recorded runs that are replayed, possibly on another
Python, so they depend on nothing that changes between Python versions:

- Every character must be assigned in Unicode 3.2, and its category, name, decomposition and
  normal forms are read from `unicodedata.ucd_3_2_0` — a database Python keeps frozen. (A newer
  character, unassigned in an older Python's database, would otherwise be refused on one
  Python and accepted on another.)
- Case folding is `str.casefold`, which Unicode's case-folding stability policy keeps fixed
  for characters assigned in any earlier version, so for these.
- The look-alike table is this file's own, fixed: no third-party confusables data, whose
  updates would change which names are refused and break replay.

Imports ccl.ledger (Refused) only.
"""

from __future__ import annotations

import unicodedata

from ccl.ledger import Refused

UCD = unicodedata.ucd_3_2_0
NAME_LENGTH_MAX = 40
PUNCTUATION = frozenset(" -'.")

# Characters that look like a (sequence of) lower-case Latin letter(s), applied after NFKD and
# before and after case folding (so the upper-case forms that look unlike their lower-case ones,
# Greek Η and η, say, map each to their own look-alike).
LOOK_ALIKE: dict[str, str] = {
    # digits
    "0": "o", "1": "l", "2": "z", "3": "e", "4": "a", "5": "s", "6": "b", "7": "t", "8": "b", "9": "g",
    # Latin
    "I": "l", "ı": "l", "ɩ": "l", "ł": "l", "ȷ": "j", "ɑ": "a", "ɡ": "g", "ø": "o", "Ø": "o",
    "đ": "d", "Đ": "d", "ð": "d", "ħ": "h", "Ħ": "h", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe",
    "ß": "ss",
    # Cyrillic
    "А": "a", "а": "a", "В": "b", "в": "b", "Е": "e", "е": "e", "К": "k", "к": "k", "М": "m", "м": "m",
    "Н": "h", "н": "h", "О": "o", "о": "o", "Р": "p", "р": "p", "С": "c", "с": "c", "Т": "t", "т": "t",
    "У": "y", "у": "y", "Х": "x", "х": "x", "Ѕ": "s", "ѕ": "s", "І": "l", "і": "l", "Ј": "j", "ј": "j",
    "Ԁ": "d", "ԁ": "d", "Ь": "b", "ь": "b", "Г": "r", "г": "r", "П": "n", "п": "n", "Һ": "h", "һ": "h",
    "Ү": "y", "ү": "y", "Ӏ": "l", "ӏ": "l", "З": "e", "з": "e", "Ԛ": "q", "ԛ": "q", "Ԝ": "w", "ԝ": "w",
    # Greek
    "Α": "a", "α": "a", "Β": "b", "β": "b", "Ε": "e", "ε": "e", "Ζ": "z", "Η": "h", "η": "n", "Ι": "l",
    "ι": "l", "Κ": "k", "κ": "k", "Μ": "m", "μ": "u", "Ν": "n", "ν": "v", "Ο": "o", "ο": "o", "Ρ": "p",
    "ρ": "p", "Τ": "t", "τ": "t", "Υ": "y", "υ": "u", "Χ": "x", "χ": "x", "ω": "w", "γ": "y", "σ": "o",
    "ς": "c", "ϲ": "c",
    # IPA small capitals
    "ʙ": "b", "ɢ": "g", "ʜ": "h", "ɪ": "l", "ʟ": "l", "ɴ": "n", "ʀ": "r", "ʏ": "y",
    # Armenian
    "օ": "o", "ս": "u", "ց": "g", "ո": "n", "հ": "h", "ա": "w", "զ": "q", "Ս": "u", "Օ": "o",
    # Cherokee (capitals that look Latin)
    "Ꭺ": "a", "Ᏼ": "b", "Ꮯ": "c", "Ꭰ": "d", "Ꭼ": "e", "Ꮐ": "g", "Ꮋ": "h", "Ꮖ": "l", "Ꭻ": "j", "Ꮶ": "k",
    "Ꮮ": "l", "Ꮇ": "m", "Ꮲ": "p", "Ꭱ": "r", "Ꮪ": "s", "Ꮤ": "t", "Ꮩ": "v", "Ꮃ": "w", "Ꮓ": "z", "Ꭹ": "y",
}
# Letter pairs that read as one letter, replaced after the table (left to right, in this order).
LOOK_ALIKE_PAIRS = (("rn", "m"), ("vv", "w"))
# What the renderer calls the co-op and the engines' accounts (`co-op`, `sys:lending` as
# `lending` …): no member may go by a name that looks like one of them.
RESERVED = ("co-op", "coop", "lending", "commons", "treasury", "reserve", "education", "anonymous")

# Scripts that one name may mix: Japanese writes kanji (CJK) with kana, Korean may add hanja.
NEUTRAL = frozenset({"MODIFIER"})          # ʻ, ʼ and friends: letters of no one script
# Letters that show nothing (Hangul fillers): a name must be seen to be told apart.
INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0")
SCRIPT_FAMILY = {"CJK": "CJK", "HIRAGANA": "CJK", "KATAKANA": "CJK", "KATAKANA-HIRAGANA": "CJK", "HANGUL": "CJK"}


def _letters_and_digits(text: str) -> str:
    """`text` decomposed (NFKD), marks dropped, look-alikes mapped."""
    out = []
    for c in UCD.normalize("NFKD", text):
        if UCD.category(c).startswith("M"):
            continue
        if UCD.category(c) == "Nd":
            c = str(UCD.decimal(c))            # every script's digits as 0–9
        out.append(LOOK_ALIKE.get(c, c))
    return "".join(out)


def skeleton(name: str) -> str:
    """What `name` looks like: decomposed, without marks, case-folded, look-alike letters and
    digits mapped to one Latin letter, spaces, punctuation and modifier letters (ʻ, ʼ) dropped. Two display names with
    one skeleton look alike (`аna` with a Cyrillic а and `ana`; `bo0` and `boo`)."""
    folded = _letters_and_digits(_letters_and_digits(name).casefold())
    s = "".join(c for c in folded if UCD.category(c)[0] in "LN" and UCD.category(c) != "Lm")
    for pair, one in LOOK_ALIKE_PAIRS:
        s = s.replace(pair, one)
    return s


def script(c: str) -> str:
    """The script of a letter, from the first word of its Unicode name (LATIN, CYRILLIC, GREEK…)."""
    first = UCD.name(c, "UNKNOWN").split(" ")[0]
    return SCRIPT_FAMILY.get(first, first)


def check_display_name(name) -> str:
    """The display name `name` in NFC, or Refused: 1–40 characters; letters, marks, digits, spaces,
    `-`, `'` and `.` only; no leading, trailing or double space; at least one letter; not a DID;
    letters of one script."""
    if not isinstance(name, str):
        raise Refused("display_name", "a display name is text")
    if len(name) > 4 * NAME_LENGTH_MAX:
        raise Refused("display_name", f"a display name has at most {NAME_LENGTH_MAX} characters")
    for c in name:
        if UCD.category(c) in ("Cn", "Cs"):
            raise Refused("display_name", f"U+{ord(c):04X} is not a character a display name may use "
                          "(it is unassigned, or newer than ccl's fixed character table)",
                          "use letters, digits, spaces, `-`, `'` and `.`")
    if name[:4].lower() in ("did:", "sys:"):
        raise Refused("display_name", "a display name is not a DID or an account", "choose the name people call you")
    name = UCD.normalize("NFC", name)
    if not 1 <= len(name) <= NAME_LENGTH_MAX:
        raise Refused("display_name", f"a display name has 1 to {NAME_LENGTH_MAX} characters, not {len(name)}")
    for c in name:
        category = UCD.category(c)
        if not (category[0] in "LM" or category == "Nd" or c in PUNCTUATION) or c in INVISIBLE:
            raise Refused("display_name", f"a display name may not hold {c!r} (U+{ord(c):04X})",
                          "use letters, digits, spaces, `-`, `'` and `.`")
    if name != name.strip(" ") or "  " in name:
        raise Refused("display_name", "a display name has no leading, trailing or double spaces")
    if UCD.category(name[0])[0] == "M":
        raise Refused("display_name", "a display name starts with a letter, a digit or punctuation, not a mark")
    scripts = sorted({script(c) for c in name if UCD.category(c)[0] == "L"} - NEUTRAL)
    if not scripts:
        raise Refused("display_name", "a display name needs at least one letter")
    if len(scripts) > 1:
        raise Refused("display_name", f"a display name is written in one script, not {' and '.join(scripts)}",
                      "mixed scripts are how look-alike names are made")
    marks = 0
    for c in name:
        marks = marks + 1 if UCD.category(c)[0] == "M" else 0
        if marks > 2:
            raise Refused("display_name", "a display name stacks at most two marks on a letter")
    if skeleton(name) in {skeleton(r) for r in RESERVED}:
        raise Refused("display_name_reserved", f"`{name}` looks like what ccl calls the co-op or one of its "
                      "accounts", "choose the name people call you")
    return name
