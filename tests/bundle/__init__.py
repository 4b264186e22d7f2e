"""Tests of ncap_iac.bundle (a package: its test module names may repeat other folders')."""
