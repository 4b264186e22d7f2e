"""Tests of ncap_iac.config (a package, so that its test modules may share names with those of
other folders: tests/deploy/test_checks.py and tests/config/test_checks.py)."""
