"""Fails the way a broken program does: pyprog's test reads the traceback."""
import sys


def main(args):
    raise ValueError("boom: " + " ".join(args))


print("started")
main(sys.argv[1:])
