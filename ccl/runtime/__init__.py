"""The runtime: where the language meets the engines (host bindings, sessions, replay).

The runtime reaches the engines' data only through their functions. It owns no store namespace
(NAMESPACES is empty): the nonces of signed requests live in the store's side tables
(ccl.store.side), outside the state root.
"""

NAMESPACES: tuple[str, ...] = ()
