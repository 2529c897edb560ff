"""Temporary shim of the renderer (replaced by the real one)."""
from __future__ import annotations


def money(amount: int, symbol: str, decimals: int) -> str:
    sign = "-" if amount < 0 else ""
    a = abs(amount)
    if decimals == 0:
        return f"{sign}{a} {symbol}"
    q, r = divmod(a, 10 ** decimals)
    return f"{sign}{q}.{r:0{decimals}d} {symbol}"


def parse_money(text: str, decimals: int) -> int:
    from ccl.diag import Span, error
    import re
    m = re.fullmatch(r"(-?)(\d{1,19})(?:\.(\d+))?", text.strip())
    if not m or (m.group(3) and len(m.group(3)) > decimals):
        raise error("U0702", f"`{text}` is not an amount with at most {decimals} decimals", Span(), "for example 12.50")
    frac = (m.group(3) or "").ljust(decimals, "0")
    v = int(m.group(2)) * 10 ** decimals + (int(frac) if frac else 0)
    return -v if m.group(1) else v


def minutes(m: int) -> str:
    sign = "-" if m < 0 else ""
    h, r = divmod(abs(m), 60)
    if h and r:
        return f"{sign}{h}h{r:02d}"
    return f"{sign}{h}h" if h else f"{sign}{r}m"


def parse_minutes(text: str) -> int:
    import re
    from ccl.diag import Span, error
    m = re.fullmatch(r"(-?)(?:(\d+)h(\d+)?|(\d+)m?)", text.strip())
    if not m:
        raise error("U0702", f"`{text}` is not a span of minutes", Span(), "for example 1h30, 90m or 90")
    v = int(m.group(2)) * 60 + int(m.group(3) or 0) if m.group(2) else int(m.group(4))
    return -v if m.group(1) else v


def when(ts: int, tz: str = "UTC") -> str:
    import datetime
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Names:
    def __init__(self, names: dict, show_dids: bool = False):
        self.names, self.show_dids = names, show_dids

    def of(self, did: str) -> str:
        if not isinstance(did, str):
            return str(did)
        if did.startswith("sys:"):
            return did[4:]
        n = self.names.get(did)
        if n is None:
            return did[:12] + "…" + did[-2:] if did.startswith("did:") and len(did) > 16 else did
        return f"{n} ({did})" if self.show_dids else n
