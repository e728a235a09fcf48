from examples.hello_world import *  # noqa: F403
