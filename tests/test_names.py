"""Physical names derived from the pipeline's name: the access-log bucket's name stays a valid S3
bucket name of at most 63 characters for every pipeline name the config accepts."""
import re

import pytest

from ncap_iac import names
from ncap_iac.config.checks import PIPELINE_NAME_MAX

# S3's rules for a bucket name (general purpose buckets)
S3_BUCKET_NAME = re.compile(r"^(?!xn--)(?!sthree-)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def is_valid_bucket_name(name: str) -> bool:
    return bool(S3_BUCKET_NAME.match(name)) and ".." not in name and ".-" not in name and "-." not in name \
        and not name.endswith(("-s3alias", "--ol-s3", "--x-s3"))


@pytest.mark.parametrize("pipeline, expected", [
    pytest.param("ncap-dlc", "ncap-dlc-access-logs", id="short_name_gets_the_suffix"),
    pytest.param("a" * 51, "a" * 51 + "-access-logs", id="longest_name_that_fits_is_kept_whole"),
])
def test_access_log_bucket_is_the_pipeline_name_with_a_suffix_while_it_fits(pipeline, expected):
    assert names.access_log_bucket_name(pipeline) == expected
    assert len(expected) <= 63


@pytest.mark.parametrize("pipeline", [
    pytest.param("a" * 52, id="one_character_too_long"),
    pytest.param("p" * (PIPELINE_NAME_MAX - 1) + "x", id="longest_pipeline_name_the_config_accepts"),
    pytest.param("a" * 41 + "-" + "b" * 10, id="cut_falls_on_a_hyphen"),
])
def test_a_too_long_name_is_cut_and_made_unique_with_a_hash(pipeline):
    name = names.access_log_bucket_name(pipeline)
    assert len(pipeline + names.ACCESS_LOG_SUFFIX) > 63
    assert len(name) <= 63 and is_valid_bucket_name(name), name
    assert name.endswith("-access-logs") and name.startswith(pipeline[:30])
    assert re.fullmatch(r"[a-z0-9-]*[a-z0-9]-[0-9a-f]{8}-access-logs", name), name


def test_two_long_names_with_the_same_start_get_different_log_buckets():
    first, second = "x" * 50 + "aa", "x" * 50 + "bb"
    assert names.access_log_bucket_name(first) != names.access_log_bucket_name(second)


@pytest.mark.parametrize("length", range(3, PIPELINE_NAME_MAX + 1))
def test_every_accepted_length_gives_a_valid_bucket_name(length):
    pipeline = ("ab-" * 30)[:length].rstrip("-") or "abc"
    name = names.access_log_bucket_name(pipeline)
    assert len(name) <= 63 and is_valid_bucket_name(name), name


def test_the_topic_key_alias_is_a_valid_kms_alias():
    alias = names.topic_key_alias("ncap-dlc")
    assert alias == "alias/ncap/ncap-dlc/notices"
    assert re.fullmatch(r"alias/[a-zA-Z0-9/_-]{1,250}", alias) and not alias.startswith("alias/aws/")
