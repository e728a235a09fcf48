import inspect


class _Schema:
    def __init__(self, d):
        self._d = d

    def dict(self):
        return self._d


def parameter_schema(flow):
    props = {}
    for i, (name, p) in enumerate(inspect.signature(flow.fn).parameters.items()):
        entry = {"title": name}
        if p.default is not inspect.Parameter.empty and p.default is not None:
            entry["default"] = p.default
        entry["position"] = i
        props[name] = entry
    return _Schema({"title": "Parameters", "type": "object", "properties": props})
