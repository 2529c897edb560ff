"""Syntax: the Lark grammar, the AST and the parser that builds one from the other."""
