"""What people see: one renderer for every command.

Owns the formatting of the values commands print — money in a currency's decimals (`12.50
CREDIT`), time-bank minutes (`1h30`), times in ISO 8601 in the workspace's time zone, members by
name (`Names`), content ids shortened — the parsing of what people type for them, and `Output`,
the one object through which a command writes: the JSON form under `--json` (one object on
stdout, nothing else there, nothing but diagnostics on stderr), nothing on success under
`--quiet`, tables where there are rows, a sentence for a write, notes and `next:` hints on stderr,
colour only on a terminal and never with `NO_COLOR` set.

Formatting is pure (integers in, text out: no float ever touches an amount). Imports ccl.diag,
and lazily the workspace and ccl.governance (for names); it is part of the CLI edge.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

import click

from ccl.diag import CclError, Diagnostic, Span, error, render as render_diagnostic

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
DECIMALS_MAX = 18
HOURS = "HOURS"                     # the time bank's unit: amounts are minutes


# ---------------------------------------------------------------- money and minutes

def money(amount: int, symbol: str, decimals: int) -> str:
    """Whole minor units as a decimal amount with its symbol: 1250, "CREDIT", 2 → `12.50 CREDIT`;
    -5 → `-0.05 CREDIT`; 100, "RIV", 0 → `100 RIV`. Exact: integer arithmetic only."""
    if type(amount) is not int or type(decimals) is not int or not 0 <= decimals <= DECIMALS_MAX:
        raise TypeError(f"money({amount!r}, {symbol!r}, {decimals!r}): whole minor units and 0–18 decimals")
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 10**decimals)
    number = f"{sign}{whole}" + (f".{part:0{decimals}d}" if decimals else "")
    return f"{number} {symbol}" if symbol else number


_MONEY = re.compile(r"([+-]?)(\d+)(?:\.(\d+))?", re.ASCII)


def _usage(message: str, hint: str, what: str) -> CclError:
    return error("U0702", message, Span(what), hint)


def parse_money(text: str, decimals: int, *, what: str = "amount") -> int:
    """What a member typed (`12.50`, `12.5`, `12`, `-3.07`) as whole minor units of a currency
    with `decimals` places. More places than the currency has, anything but a plain decimal
    number, or an amount outside 64 bits is a usage error (U0702) with a hint."""
    t = text.strip() if isinstance(text, str) else ""
    m = _MONEY.fullmatch(t) if len(t) <= 60 else None
    if m is None:
        example = "12.50" if decimals == 2 else "12" if decimals == 0 else "12." + "5".ljust(decimals, "0")
        raise _usage(f"`{text}` is not an amount", f"write a decimal number, for example {example}", what)
    sign, whole, part = m.group(1), m.group(2), m.group(3) or ""
    if len(part) > decimals:
        raise _usage(f"`{text}` has {len(part)} decimal place{'s' if len(part) != 1 else ''}; this currency has "
                     f"{decimals}" if decimals else f"`{text}` has a fraction, but this currency counts whole units",
                     f"write at most {decimals} digit{'s' if decimals != 1 else ''} after the point" if decimals
                     else f"write a whole number, for example {whole}", what)
    value = int(whole) * 10**decimals + (int(part.ljust(decimals, "0")) if decimals else 0)
    value = -value if sign == "-" else value
    if not INT64_MIN <= value <= INT64_MAX:
        raise _usage(f"`{text}` is too large an amount", "amounts are whole minor units within 64 bits", what)
    return value


def minutes(m: int) -> str:
    """Minutes as hours and minutes: 90 → `1h30`, 45 → `45m`, 120 → `2h`, -65 → `-1h05`."""
    if type(m) is not int:
        raise TypeError(f"minutes({m!r}): a whole number of minutes")
    if m < 0:
        return "-" + minutes(-m)
    h, rest = divmod(m, 60)
    if not h:
        return f"{rest}m"
    return f"{h}h" if not rest else f"{h}h{rest:02d}"


_MINUTES = re.compile(r"([+-]?)(?:(\d{1,18})h(?:(\d{1,2})m?)?|(\d{1,18})m?)", re.ASCII)


def parse_minutes(text: str, *, what: str = "minutes") -> int:
    """`1h30`, `1h30m`, `90m`, `2h` or `90` (plain: minutes) as minutes; a usage error (U0702)
    otherwise."""
    t = text.strip().replace(" ", "") if isinstance(text, str) else ""
    m = _MINUTES.fullmatch(t)
    if m is None or (m.group(3) is not None and int(m.group(3)) >= 60):
        raise _usage(f"`{text}` is not a span of hours and minutes", "for example 1h30, 90m, 2h or 90 (minutes)",
                     what)
    value = int(m.group(2)) * 60 + int(m.group(3) or 0) if m.group(2) is not None else int(m.group(4))
    value = -value if m.group(1) == "-" else value
    if not INT64_MIN <= value <= INT64_MAX:
        raise _usage(f"`{text}` is too many minutes", "a span is a whole number of minutes within 64 bits", what)
    return value


def amount(value: int, symbol: str, decimals: int) -> str:
    """An amount of any currency: HOURS as hours and minutes (`1h30`), the others as money with
    the currency's decimals (`ccl.ledger.engines.currency_decimals`)."""
    return minutes(value) if symbol == HOURS else money(value, symbol, decimals)


def parse_amount(text: str, symbol: str, decimals: int, *, what: str = "amount") -> int:
    """What a member typed for an amount of `symbol`: minutes for HOURS, money otherwise."""
    return parse_minutes(text, what=what) if symbol == HOURS else parse_money(text, decimals, what=what)


# ---------------------------------------------------------------- times and ids

def zone(tz: str):
    """The time zone named `tz` (an IANA name, `UTC`), or a usage error (U0702)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise _usage(f"`{tz}` is not a time zone", "name one such as Europe/Amsterdam, America/Bogota or UTC "
                     "(`timezone` under [workspace] in .ccl/config.toml)", "timezone") from None


def when(ts: int, tz: str = "UTC") -> str:
    """Seconds since 1970 as ISO 8601 in the time zone `tz`: `2026-12-02T05:00:00Z` in UTC,
    `2026-12-02T06:00:00+01:00` elsewhere. A time outside the calendar's years 1–9999 stays a
    number."""
    from datetime import datetime

    place = zone(tz)
    try:
        t = datetime.fromtimestamp(ts, place)
    except (OverflowError, OSError, ValueError):
        return str(ts)
    text = t.isoformat()
    return text[:-6] + "Z" if tz in ("UTC", "Etc/UTC") and text.endswith("+00:00") else text


def short_did(did: str) -> str:
    """`did:key:z6Mk…7q`: the first 12 characters and the last 2."""
    return did if len(did) <= 16 else f"{did[:12]}…{did[-2:]}"


def short_cid(cid: str) -> str:
    """`bafy…7q`: a content id shortened for a sentence."""
    return cid if len(cid) <= 10 else f"{cid[:4]}…{cid[-2:]}"


def workspace_tz(workspace) -> str:
    """The workspace's time zone: `timezone` under [workspace] in .ccl/config.toml, else UTC."""
    tz = (workspace.config().get("workspace") or {}).get("timezone") if workspace is not None else None
    return tz if isinstance(tz, str) and tz else "UTC"


# ---------------------------------------------------------------- names

class Names:
    """What people call members. `of(did)`: the display name the member chose, else the name of
    the workspace identity with that DID, else the DID shortened; `sys:` accounts by their name
    (`sys:lending` → `lending`), a co-op fund `DID#reserve` as `co-op#reserve`. A display name
    that looks like a local identity name of someone else is shown with its DID shortened, so a
    look-alike cannot pass for the member you know. With `show_dids`, every member's DID follows
    in full: `ana (did:key:z6Mk…)`."""

    def __init__(self, display: Optional[Mapping[str, str]] = None, identities: Optional[Mapping[str, str]] = None,
                 *, coop: Optional[str] = None, show_dids: bool = False):
        self.display = dict(display or {})          # DID → display name (governance)
        self.identities = dict(identities or {})    # DID → identity name (this workspace's keys)
        self.coop = coop
        self.show_dids = show_dids
        self._suspect = self._look_alikes()

    def _look_alikes(self) -> set[str]:
        from ccl.governance.names import skeleton

        local = {skeleton(n): did for did, n in self.identities.items()}
        return {did for did, n in self.display.items() if local.get(skeleton(n), did) != did}

    @classmethod
    def load(cls, workspace, L=None, *, show_dids: bool = False) -> "Names":
        """Names from a workspace's identities and, given a ledger of a governance read, the
        members' display names and the co-op's DID."""
        identities: dict[str, str] = {}
        if workspace is not None:
            for name in workspace.keys.names():
                did = _identity_did(workspace, name)
                if did is not None:
                    identities.setdefault(did, name)
        display, coop = {}, None
        if L is not None:
            from ccl import governance as G

            display = G.display_names(L)
            coop = (G.coop(L) or {}).get("coop")
        return cls(display, identities, coop=coop, show_dids=show_dids)

    def name(self, did: str) -> str:
        """The name alone, without the DID `show_dids` adds."""
        if not isinstance(did, str):
            return str(did)
        if did.startswith("sys:"):
            return did[4:]
        base, hash_, fund = did.partition("#")
        if hash_ and base.startswith("did:"):
            return f"{self.name(base)}#{fund}"
        if did in self.display:
            chosen = self.display[did]
            return f"{chosen} ({short_did(did)})" if did in self._suspect else chosen
        if did in self.identities:
            return self.identities[did]
        if did == self.coop:
            return "co-op"
        return short_did(did)

    def of(self, did: str) -> str:
        shown = self.name(did)
        if self.show_dids and isinstance(did, str) and did.startswith("did:") and shown != did:
            return f"{shown} ({did})"
        return shown

    def lookup(self, name: str) -> Optional[str]:
        """The DID of a member named `name` here: an identity name first, then a display name
        (exactly as chosen); None when nobody is."""
        for did, n in sorted(self.identities.items()):
            if n == name:
                return did
        # a display name that looks like someone else's identity name here names nobody: typing it
        # must not pay the look-alike
        found = sorted(did for did, n in self.display.items() if n == name and did not in self._suspect)
        return found[0] if len(found) == 1 else None


def _identity_did(workspace, name: str) -> Optional[str]:
    """An identity's DID from its public record (`NAME.json`), without reading its private key."""
    try:
        record = json.loads((workspace.keys.folder / f"{name}.json").read_text())
        if isinstance(record.get("did"), str):
            return record["did"]
    except (OSError, ValueError, AttributeError):
        pass
    try:
        return workspace.keys.load(name).did
    except CclError:
        return None


# ---------------------------------------------------------------- output

def colour(stream) -> bool:
    """Whether to colour `stream`: a terminal, and NO_COLOR unset or empty (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


_NUMERIC = re.compile(r"[+-]?\d[\d.,:]*(h\d*|m)?( [A-Z][A-Z0-9_]*)?")


class Output:
    """A command's output, made once per command from the global flags (`ctx.output()`).

    Every command calls both forms: `data(obj)` for `--json` and `line`/`sentence`/`table` for
    people; the Output prints the one that applies. Under `--json` stdout carries exactly one
    JSON object — `{"ok": true, …}`, with what `attach` gathered (a receipt, events, logs) — and
    stderr only diagnostics. Under `--quiet` nothing is printed on success. A failure always
    prints its diagnostic (`error`)."""

    def __init__(self, *, as_json: bool = False, quiet: bool = False, show_dids: bool = False,
                 tz: "str | Callable[[], str]" = "UTC"):
        self.json = as_json
        self.quiet = quiet
        self.show_dids = show_dids
        self._tz = tz
        self.attached: dict[str, Any] = {}
        self.emitted = False                        # the JSON object is out

    # -- context
    @property
    def tz(self) -> str:
        if callable(self._tz):
            self._tz = self._tz()
        return self._tz

    @property
    def people(self) -> bool:
        """Whether text for people is printed (not --json, not --quiet)."""
        return not (self.json or self.quiet)

    def when(self, ts: int) -> str:
        return when(ts, self.tz)

    def cid(self, cid: str) -> str:
        """A content id as shown: shortened for people, in full under --json."""
        return cid if self.json else short_cid(cid)

    def attach(self, **fields: Any) -> None:
        """Fields for the JSON object (`receipt=…`, `events=[…]`); a receipt also ends the
        next sentence."""
        self.attached.update({k: v for k, v in fields.items() if v is not None})

    # -- stdout
    def data(self, obj: Mapping[str, Any]) -> None:
        """The machine form, printed under --json (and only then) as one object."""
        if not self.json or self.quiet:
            return
        assert not self.emitted, "a command prints one JSON object"
        self.emitted = True
        click.echo(json.dumps({"ok": True, **self.attached, **obj}, ensure_ascii=False))

    def document(self, obj: Any) -> None:
        """A JSON document that is the command's whole output (a block, for `ccl dag show`):
        compact under --json, indented for people."""
        if self.quiet or self.emitted:
            return
        self.emitted = self.json
        click.echo(json.dumps(obj, ensure_ascii=False, indent=None if self.json else 2))

    def line(self, text: str = "") -> None:
        if self.people:
            click.echo(text)

    def sentence(self, text: str) -> None:
        """A write's confirmation: `ana issued 100.00 CREDIT to bo · receipt bafy…7q`."""
        receipt = self.attached.get("receipt")
        self.line(f"{text} · receipt {short_cid(receipt)}" if receipt else text)

    def table(self, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
              empty: Optional[str] = None) -> None:
        """A table when there are rows; `no <title>` (or `empty`) when there are none."""
        if not self.people:
            return
        rows = [["" if x is None else printable(str(x)) for x in r] for r in rows]
        if not rows:
            click.echo(empty or f"no {title[:1].lower()}{title[1:]}")
            return
        from rich.table import Table
        from rich.text import Text

        t = Table(title=Text(printable(title)), title_justify="left", title_style="bold", box=_box(), show_edge=False,
                  pad_edge=False)
        for i, c in enumerate(columns):
            cells = [r[i] for r in rows if i < len(r) and r[i]]
            numeric = all(_NUMERIC.fullmatch(x) for x in cells)
            word = all(" " not in x and len(x) <= 25 for x in cells)      # a time, a name, a short id
            t.add_column(c, justify="right" if numeric else "left", overflow="fold", no_wrap=numeric or word)
        for r in rows:
            t.add_row(*(Text(x) for x in r))            # members' text is never read as markup
        click.echo(_printed(t, sys.stdout), nl=False, color=True)

    # -- stderr
    def note(self, text: str) -> None:
        """A remark for people on stderr (`note: …`); never under --json or --quiet."""
        if self.people:
            click.echo(f"note: {text}", err=True)

    def aside(self, text: str) -> None:
        """A line for people on stderr beside the result (a run's events, logs and receipt)."""
        if self.people:
            click.echo(text, err=True)

    def next(self, text: str) -> None:
        """What to do next (`next: …`), on stderr; only from the command the hint follows from."""
        if self.people:
            click.echo(f"next: {text}", err=True)

    def error(self, diagnostic: Diagnostic, source: Optional[str] = None, **extra: Any) -> None:
        """A failure's diagnostic: under --json the one JSON object `{"ok": false, "error": …}`
        on stdout (or, if the object is already out, the text on stderr); else on stderr, red on
        a terminal."""
        if self.json and not self.emitted:
            self.emitted = True
            click.echo(json.dumps({"ok": False, "error": diagnostic.to_json(), **extra}, ensure_ascii=False))
            return
        text = render_diagnostic(diagnostic, source)
        if not colour(sys.stderr):
            click.echo(text, err=True)
            return
        from rich.text import Text

        first, _, rest = text.partition("\n")
        shown = Text()
        shown.append(first, style="bold red")
        if rest:
            shown.append("\n" + rest)
        click.echo(_printed(shown, sys.stderr), nl=False, err=True, color=True)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Text a member wrote, safe to show: control characters (escape sequences, new lines,
    bidirectional overrides) written as `\\xNN` / `\\uNNNN`, so no one's loan purpose or task
    can clear a reader's screen or forge a row."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def _box():
    from rich import box

    return box.SIMPLE_HEAD


def _printed(renderable, stream) -> str:
    """`renderable` as rich prints it for `stream` — colour only on a terminal without NO_COLOR,
    as wide as the terminal (off one: $COLUMNS, else wide enough that rows are not folded) —
    without trailing spaces."""
    import io
    import shutil

    from rich.console import Console

    tty = colour(stream)
    width = None
    try:
        width = int(os.environ.get("COLUMNS", "")) or None
    except ValueError:
        width = None
    if width is None:
        width = shutil.get_terminal_size((200, 24)).columns if tty else 200
    buffer = io.StringIO()
    console = Console(file=buffer, color_system="standard" if tty else None, force_terminal=tty, no_color=not tty,
                      highlight=False, emoji=False, soft_wrap=False, width=width)
    console.print(renderable, markup=False) if isinstance(renderable, str) else console.print(renderable)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
