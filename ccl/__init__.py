"""ccl — the Cooperative Contract Language toolkit.

Pipeline: syntax (Lark LALR → AST) → check → compile (bytecode module, CID) → verify → vm.
"""

__version__ = "0.1.0"
