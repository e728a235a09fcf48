#!/bin/sh
# Stands for prefect and prefect-deploy in a pasted script: appends its name and argv,
# NUL-separated, as one line of $ARGV_LOG.
{ printf '%s' "$(basename "$0")"; for a in "$@"; do printf '\0%s' "$a"; done; printf '\n'; } >> "$ARGV_LOG"
