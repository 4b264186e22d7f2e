"""Tests of the Lambda handlers in lambda_repo/ (a package, so that its conftest stays apart from
tests/conftest.py)."""
