"""The runtime: where the language meets the engines (host bindings, sessions, replay).

The runtime reaches the engines' data only through their functions. It owns one store namespace
of its own (NAMESPACES): `node.nonces`, the nonces of the signed requests a session has run, so
a replayed request is refused inside the run's transaction (ccl.runtime.session).
"""

NAMESPACES = ("node.nonces",)
