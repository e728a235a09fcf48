"""Helpers for report delivery."""
from typing import Iterable


def format_recipients(recipients: Iterable[str]) -> str:
    return ", ".join(sorted({r.strip().lower() for r in recipients if r.strip()}))
