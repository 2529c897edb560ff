"""The VM: the reference interpreter, the fast path (bytecode → Python), builtins, values."""
