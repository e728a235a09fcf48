"""Waits until the embedded Prefect server answers: python -u health.py URL.

The image has Python but maybe not curl, so readiness is polled with urllib: every
second, for at most 180 attempts, until URL answers `true`.
"""
import sys
import time
import urllib.request

url, err = sys.argv[1], None
for i in range(180):
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            if r.read().strip() == b"true":
                print(f"healthy after {i + 1} attempt(s)")
                sys.exit(0)
    except Exception as e:
        err = e
    time.sleep(1)
sys.exit(f"{url} not healthy after 180 attempts: {err}")
