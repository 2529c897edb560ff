"""Compilation: AST → bytecode module (opcodes, codegen, module format, verifier, disassembler)."""
