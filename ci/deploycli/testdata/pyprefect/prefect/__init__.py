"""Test stand-in for the prefect package: only prefect.cli.app exists (see cli/)."""
