from examples.hello_world import hello as hello2
from examples.hello_world import helper
from .sibling import sib_flow
