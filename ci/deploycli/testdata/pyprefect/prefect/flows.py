import hashlib
import importlib.util
import inspect


class Flow:
    def __init__(self, fn, name=None, version=None, description=None, **_other):
        self.fn = fn
        self.name = name or fn.__name__.replace("_", "-")
        if version is None:
            with open(inspect.getsourcefile(fn), "rb") as fh:
                version = hashlib.md5(fh.read()).hexdigest()
        self.version = version
        self.description = description or inspect.getdoc(fn)


def flow(fn=None, **kw):
    if fn is None:
        return lambda f: Flow(f, **kw)
    return Flow(fn)


class MissingFlowError(Exception):
    pass


def load_flow_from_entrypoint(entrypoint):
    path, func = entrypoint.rsplit(":", 1)
    spec = importlib.util.spec_from_file_location("__prefect_loader__", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    obj = getattr(mod, func, None)
    if obj is None:
        raise MissingFlowError(f"Flow function with name {func!r} not found in {path!r}. ")
    if not isinstance(obj, Flow):
        raise MissingFlowError(f"Function with name {func!r} is not a flow. Make sure that it is decorated with '@flow'.")
    return obj
