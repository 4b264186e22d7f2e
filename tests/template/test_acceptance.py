"""Independent tools accept every compiled example: cfn-lint (no error, no warning),
aws-sam-translator, and the real `sam validate --lint`."""
import json
import os
import subprocess

import pytest

from ncap_iac.compiler import compile_config
from ncap_iac.config import load
from ncap_iac.lint import IGNORED_RULES, lint_template
from ncap_iac.template.limits import deployed_resource_count
from ncap_iac.translate import translate

from conftest import SOURCES_FOR_TOOLS, find_tool, require_tool

CODE = "s3://ncap-test-code/lambda.zip"


def _compiled(name):
    source = SOURCES_FOR_TOOLS[name]
    return compile_config(load(source), source.parent)


@pytest.mark.parametrize("name", sorted(SOURCES_FOR_TOOLS))
def test_cfn_lint_reports_nothing(name):
    compiled = _compiled(name)
    assert [str(f) for f in lint_template(compiled.template, compiled.config.region)] == []


@pytest.mark.parametrize("name", sorted(SOURCES_FOR_TOOLS))
def test_sam_translator_translates_and_resource_count_is_exact(name):
    compiled = _compiled(name)
    translated = translate(compiled.template, compiled.config.region, CODE)
    assert "Transform" not in translated
    assert not any(r["Type"].startswith("AWS::Serverless::") for r in translated["Resources"].values())
    assert len(translated["Resources"]) == deployed_resource_count(compiled.template)


def test_ignored_lint_rules_are_justified():
    assert all(len(reason) > 20 for reason in IGNORED_RULES.values())


def test_lint_catches_a_broken_template():
    compiled = _compiled(sorted(SOURCES_FOR_TOOLS)[0])
    broken = json.loads(compiled.body)
    broken["Resources"]["JobQueue"]["Properties"]["VisibilityTimeout"] = 99999
    assert any(f.rule == "E3034" for f in lint_template(broken, "us-east-1"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SOURCES_FOR_TOOLS))
def test_sam_validate_lint_accepts(name, tmp_path):
    sam = require_tool("the sam CLI", find_tool("sam"))
    compiled = _compiled(name)
    template = tmp_path / "compiled_template.json"
    template.write_text(compiled.body)
    env = dict(os.environ, SAM_CLI_TELEMETRY="0", AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing")
    run = subprocess.run([sam, "validate", "--lint", "-t", str(template), "--region", compiled.config.region],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "is a valid SAM Template" in run.stdout + run.stderr
