from prefect import flow

@flow
def empty(): pass

@flow
async def multi(
    day: date,  # required ) ,
    regions: List[str] = ["eu", "a,b)"],
    sep: str = "a,b)",   # a comment with "quotes" and (
    nested: Dict[str, Tuple[int, int]] = {"a": (1, 2), "b": [3, {4: 5}]},
    cmp=1 == 2,
    text='''multi
line ) string''',
) -> Dict[str, int]:
    pass

@flow
def markers(a, b: int, /, c=1, *, d, e: "Forward" = None, **kw,): pass

@flow
def varargs(*items: str, limit=3, **opts): pass

@flow
def one_line(x=(1, 2), y=[3]) -> None: return None

@flow
def continued(a, \
              b=2): pass

@flow
def with_lambda(key=lambda a, b: a): pass

@flow
def kw_after_varkw(**kw, a): pass

@flow
def duplicate(a, a): pass

@flow
def bad_star(*, *args): pass
