"""Writes the hand-built modules of issue 12 into this folder: python fuzz/corpus/issue12/make_modules.py"""
from ccl.compile import opcodes as O
from ccl.compile.module import Function, Module, write_file
def mod(consts, code, ret="Integer", nlocals=0):
    n = len(code)
    flat = []
    for op, arg in code: flat += [getattr(O, op), arg]
    f = Function("run", (), ret, nlocals, tuple(flat), (1, 1, n), True)
    return Module("hand.ccl", tuple(consts), (f,), (), (), (), (), ())
cases = {
 "if_pop_in_branch": mod([1, False, 99], [("CONST",0),("CONST",1),("IF",0),("POP",0),("CONST",2),("END",0),("RET",0)]),
 "loop_break_with_value": mod([1, 20], [("CONST",0),("LOOP",0),("CONST",1),("BREAK",0),("END",0),("RET",0)]),
 "mget_on_string": mod(["ab", 0], [("CONST",0),("CONST",1),("MGET",0),("RET",0)], ret="String"),
 "local_set_in_untaken_branch": mod([False, 1], [("CONST",0),("IF",0),("CONST",1),("STORE",0),("END",0),("LOAD",0),("RET",0)], nlocals=1),
 "wrong_return_type": mod(["x"], [("CONST",0),("RET",0)], ret=["Array", "Integer"]),
 "malformed_struct_descriptor": Module("hand.ccl", (1,), (Function("run", (), "struct:S", 0, (O.CONST, 0, O.RET, 0), (1,1,2), True),), (), (), (("S", (("a", 5),)),), (), ()),
 "mul_string_huge": mod(["x", 2**27], [("CONST",0),("CONST",1),("MUL",0),("RET",0)], ret="String"),
}
for name, m in cases.items():
    open(f"fuzz/corpus/issue12/{name}.cclb", "wb").write(write_file(m))
