"""The compiled module: bytecode, constants, line table, types — and its CBOR form and CID.

Owns `Module`/`Function` (frozen), their canonical CBOR encoding (the CID is the CID of those
bytes), and the `.cclb` file envelope, which repeats the CID so that any flipped byte is caught
before anything is decoded further. Imports leaves only.
"""

from __future__ import annotations

from typing import Any

import attrs

from ccl import canon, limits
from ccl.diag import Span, error
from ccl.types import Descriptor

FORMAT = "ccl-module"
FORMAT_VERSION = 2                 # 2: MKSTRUCT and MKVARIANT name their type
FILE_MAGIC = "ccl-bytecode/1"


@attrs.frozen
class Function:
    name: str
    params: tuple[Descriptor, ...]
    ret: Descriptor
    nlocals: int
    code: tuple[int, ...]      # flat: op, operand, op, operand, …
    lines: tuple[int, ...]     # flat runs: line, col, count, line, col, count, …
    entry: bool
    param_names: tuple[str, ...] = ()
    local_names: tuple[str, ...] = ()
    file: str = ""                # the source file it was written in (imports differ from the module's)

    def positions(self) -> list[tuple[int, int]]:
        """(line, col) of each instruction, expanded from the run-length line table."""
        out = []
        it = iter(self.lines)
        for line, col, count in zip(it, it, it):
            out.extend([(line, col)] * count)
        return out


@attrs.frozen
class Module:
    source: str
    consts: tuple[Any, ...]    # scalars (int, str, bool, None) and EMIT's [name, [field…]]
    functions: tuple[Function, ...]
    states: tuple[tuple[str, str, Descriptor], ...]                 # (contract, name, type)
    initializers: tuple[tuple[str, int], ...]                       # (contract, function index)
    structs: tuple[tuple[str, tuple[tuple[str, Descriptor], ...]], ...]     # (name, ((field, type), …))
    # (name, ((variant, (payload type, …)), …))
    enums: tuple[tuple[str, tuple[tuple[str, tuple[Descriptor, ...]], ...]], ...]
    host: tuple[tuple[int, str], ...]                               # (index, name) of every host row called
    # (name, metadata map) — roles and proposals for the governance engine (codegen.contract_metadata)
    contracts: tuple[tuple[str, dict[str, Any]], ...] = ()

    def to_cbor(self) -> dict:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "source": self.source,
            "consts": list(self.consts),
            "functions": [
                {"name": f.name, "params": list(f.params), "ret": f.ret, "nlocals": f.nlocals,
                 "code": list(f.code), "lines": list(f.lines), "entry": f.entry,
                 "param_names": list(f.param_names), "local_names": list(f.local_names), "file": f.file}
                for f in self.functions
            ],
            "states": [list(s) for s in self.states],
            "initializers": [list(i) for i in self.initializers],
            "structs": [[n, [list(f) for f in fs]] for n, fs in self.structs],
            "enums": [[n, [[v, list(ts)] for v, ts in vs]] for n, vs in self.enums],
            "host": [list(h) for h in self.host],
            "contracts": [[n, m] for n, m in self.contracts],
        }

    def encode(self) -> bytes:
        return canon.encode(self.to_cbor())

    @property
    def cid(self) -> str:
        return canon.cid_text(self.encode())

    def function_index(self, name: str) -> int:
        for i, f in enumerate(self.functions):
            if f.name == name:
                return i
        return -1


def _malformed(path: str, why: str):
    return error("I0800", f"{path} is not a valid ccl bytecode file: {why}", Span(path),
                 "recompile it from source with `ccl compile`")


def module_from_cbor(obj, path: str = "<module>") -> Module:
    """Build a Module from decoded CBOR, checking shapes (the verifier checks the code)."""
    try:
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise ValueError("not a ccl module")
        if obj.get("version") != FORMAT_VERSION:
            raise ValueError(f"format version {obj.get('version')!r}; this ccl reads {FORMAT_VERSION}")
        functions = []
        for f in obj["functions"]:
            functions.append(Function(
                name=_str(f["name"]), params=tuple(f["params"]), ret=f["ret"], nlocals=_int(f["nlocals"]),
                code=tuple(_int(x) for x in f["code"]), lines=tuple(_int(x) for x in f["lines"]),
                entry=bool(f["entry"]), param_names=tuple(_str(x) for x in f["param_names"]),
                local_names=tuple(_str(x) for x in f["local_names"]), file=_str(f.get("file", ""))))
        return Module(
            source=_str(obj["source"]),
            consts=tuple(obj["consts"]),
            functions=tuple(functions),
            states=tuple((_str(c), _str(n), t) for c, n, t in obj["states"]),
            initializers=tuple((_str(c), _int(i)) for c, i in obj["initializers"]),
            structs=tuple((_str(n), tuple((_str(a), t) for a, t in fs)) for n, fs in obj["structs"]),
            enums=tuple((_str(n), tuple((_str(v), tuple(ts)) for v, ts in vs)) for n, vs in obj["enums"]),
            host=tuple((_int(i), _str(n)) for i, n in obj["host"]),
            contracts=tuple((_str(n), m) for n, m in obj["contracts"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise _malformed(path, str(e) or type(e).__name__) from None


def _int(x) -> int:
    if type(x) is not int:
        raise ValueError("expected an integer")
    return x


def _str(x) -> str:
    if type(x) is not str:
        raise ValueError("expected a string")
    return x


def write_file(module: Module) -> bytes:
    body = module.encode()
    return canon.encode([FILE_MAGIC, body, canon.cid_text(body)])


def read_file(data: bytes, path: str) -> Module:
    """Decode a `.cclb`: envelope, CID check, canonical CBOR, module shape."""
    if len(data) > limits.module_bytes_max:
        raise error("L0507", f"{path} is {len(data)} bytes; the limit is {limits.module_bytes_max}", Span(path))
    try:
        envelope = canon.decode(data)
    except Exception as e:      # cbor2 raises several kinds on junk input
        raise _malformed(path, f"undecodable ({type(e).__name__})") from None
    if not (isinstance(envelope, list) and len(envelope) == 3 and envelope[0] == FILE_MAGIC
            and isinstance(envelope[1], bytes) and isinstance(envelope[2], str)):
        raise _malformed(path, "missing the ccl-bytecode header")
    body, cid = envelope[1], envelope[2]
    if canon.cid_text(body) != cid:
        raise error("I0801", f"{path} is corrupt: its content does not match its content id {cid}",
                    Span(path), "recompile it from source with `ccl compile`")
    try:
        obj = canon.decode(body)
    except Exception as e:
        raise _malformed(path, f"undecodable module ({type(e).__name__})") from None
    return module_from_cbor(obj, path)
