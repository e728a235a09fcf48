from prefect import flow

from examples.hello_world import hello


def _impl(x: int = 1):
    return x


def other_impl():
    pass


def make_flow(name):
    def body():
        pass

    return flow(body, name=name)


wrapped = flow(_impl, name="wrapped")
curried = flow(name="curried-flow", retries=1)(_impl)
derived = flow(other_impl)
with_opts = hello.with_options(name="hello-with-options")
factory_made = make_flow("made")
first, second = flow(_impl, name="first"), flow(other_impl, name="second")
