"""The runtime: where the language meets the engines (host bindings, sessions, replay)."""
