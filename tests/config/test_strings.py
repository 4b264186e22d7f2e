"""Every string of the NCAP seed config (seed 002), set in turn to a control character and to 300
characters: refused with a problem naming that field, or compiled to a template cfn-lint accepts.
Never a traceback."""
import copy
import json

import pytest

from ncap_iac.compiler import compile_config
from ncap_iac.config import load_document
from ncap_iac.config.schema import json_path
from ncap_iac.errors import ConfigError
from ncap_iac.lint import lint_template

from conftest import example_config

SEED = json.loads(example_config("ncap-dlc").read_text())
VALUES = {"control": "\x1f", "long": "x" * 300}


def string_paths(node, prefix=()):
    if isinstance(node, str):
        yield prefix
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in children:
        yield from string_paths(child, prefix + (key,))


PATHS = list(string_paths(SEED))
CASES = [pytest.param(path, value, id=f"{json_path(path)}={name}") for path in PATHS for name, value in VALUES.items()]


def with_value(path, value):
    doc = copy.deepcopy(SEED)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def test_the_seed_has_the_strings_it_should():
    assert len(PATHS) >= 25 and ("Lambda", "LambdaConfig", "SECURITY_GROUPS") in PATHS


@pytest.mark.parametrize("path, value", CASES)
def test_each_string_is_refused_naming_it_or_compiles_clean(path, value, tmp_path):
    try:
        compiled = compile_config(load_document(with_value(path, value), example_config("ncap-dlc").parent),
                                  tmp_path)
    except ConfigError as error:
        named = json_path(path)
        assert any(i.path == named or i.path.startswith(named + ".") or named.startswith(i.path + "[")
                   for i in error.issues), f"{named}: {error.lines()}"
        return
    assert [str(f) for f in lint_template(compiled.template, compiled.config.region)] == []
