import inspect

import prefect


class _Schema:
    """Prefect 2's ParameterSchema (pydantic 1: dict()), or Prefect 3's (pydantic 2:
    dict() is model_dump(), which adds the unset "required" and "definitions")."""

    def __init__(self, d):
        self._d = d

    def dict(self):
        if prefect.__version__.startswith("3."):
            return self.model_dump()
        return self._d

    def model_dump(self, mode="python", exclude_unset=False):
        if not prefect.__version__.startswith("3."):
            raise AttributeError("model_dump: a pydantic 1 model has none")
        if exclude_unset:
            return dict(self._d)
        return {**self._d, "required": [], "definitions": {}}


def parameter_schema(flow):
    props = {}
    for i, (name, p) in enumerate(inspect.signature(flow.fn).parameters.items()):
        entry = {"title": name}
        if p.default is not inspect.Parameter.empty and p.default is not None:
            entry["default"] = p.default
        entry["position"] = i
        props[name] = entry
    return _Schema({"title": "Parameters", "type": "object", "properties": props})
