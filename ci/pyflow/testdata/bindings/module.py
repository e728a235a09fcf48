"""Module-level bindings the scanner must see (TestScanModuleBindings). Never run.

def in_docstring(): pass
"""
import os.path
import json as j, sys
from a.b import (c as d,
                 e)
from . import sibling
from .pkg.mod import thing
first = second = 1
x: int = 2
declared_only: int
t1, (t2, *t3) = [u1, u2] = 1, (2, 3)
obj.attr = 3
items[0] = 4
counter += 1
f = lambda p=1: p
if (walrused := 5) > 1: one_liner = 1
a1 = 1; a2 = 2
cmp = 1 == 2
le = 1 <= 2
with open("x") as fh, open("y") as (g1, g2):
    inside_with = 1
for loop_a, loop_b in []:
    def in_loop():
        local_in_def = 1
try:
    import maybe
except ImportError as exc_name:
    maybe = None
finally:
    fin = 1


class Klass:
    class_attr = 1

    def method(self):
        global from_global
        from_global = 1


@decorated
def deco():
    nested = 1


async def coro():
    pass


def __getattr__(name):
    raise AttributeError(name)
