import sys

from prefect import flow

if sys.version_info >= (3, 8):
    @flow
    def cond():
        pass
else:
    cond = None

try:
    from examples.hello_world import hello as tried
except ImportError:  # pragma: no cover
    tried = None

for _name in ["looped"]:
    pass

with open(__file__) as handle:
    pass
