from prefect import flow


def _impl():
    pass


globals()["dyn"] = flow(_impl, name="dyn")


def lazy_getattr_is_elsewhere():
    pass
