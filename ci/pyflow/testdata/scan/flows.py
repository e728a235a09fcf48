'''Module docstring.
@flow
def in_docstring():
    pass
'''
from prefect import flow
import prefect as p

x = """
def in_string(): pass
"""

@flow
def plain(): pass

@flow()
async def empty_call(): pass

@flow(
    name="multi \"quoted\" line",  # comment with ) and "
    retries=2,
)
def multi(): pass

@flow(name=f"formatted-{x}")
def formatted(): pass

@flow(name="a" "b")
def concatenated(): pass

@flow(name = 'single', description="name='nope'")
def single(): pass

@flow(description="x", name=r"raw\n")
def raw(): pass

@prefect.flow(name="dotted")
@other
def dotted(): pass

@other
@prefect . flow
def spaced(): pass

@p.flow
def aliased_module(): pass

@flows
def flows_deco(): pass

@flow.with_options(name="x")
def with_options(): pass

@flow
def redefined(): pass

def redefined(): pass

@flow
class Klass: pass

def after_class(): pass

if True:
    @flow
    def indented(): pass

@flow(name="x",
      retries=1) ; pass
def not_after_statement(): pass

@flow(name="cont", \
      retries=1)
def continued(): pass
