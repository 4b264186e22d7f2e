"""Property-based: thousands of mutated configs each end in a template that the SAM translator
accepts, or in a clean NcapError (ConfigError / TemplateLimitError): never another exception.
Valid configs built at random pass cfn-lint with nothing to report."""
import copy
import json
import re
from pathlib import Path

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from ncap_iac.compiler import compile_config
from ncap_iac.config import load_document
from ncap_iac.errors import NcapError
from ncap_iac.lint import lint_template
from ncap_iac.translate import translate

from conftest import SOURCES_FOR_TOOLS
from factories import minimal_config
from fuzz import examples

BASES = [(json.loads(p.read_text()), p.parent) for p in SOURCES_FOR_TOOLS.values()]
NEAR_MISSES = st.sampled_from([
    "", " ", "a", "lab-a", "Lab-A", "logs", "x" * 70, "ami-0123456789abcdef0", "ami-123", "us-east-1",
    "us-east1", "p2.xlarge", "sg-0123456789abcdef0", "web", "subnet-0123456789abcdef0", ".mp4", ".hpf",
    ".gz", ".tar.gz", "fileset", "submit", "stop", "terminate", "ops@example.org", "not-an-email",
    "run.sh {} {} {} {}", "${AWS::Region}", "{{resolve:ssm:x}}", "'; rm -rf / #", "ünïcødé", "a/b",
    "../..", "lambda_code", "/dev/sda1", "Fifo", "UserNames", "\u0000",
])
SCALARS = (st.none() | st.booleans() | st.integers(-2, 5) | st.sampled_from([0, 60, 300, 1000, 43200, 10**9])
           | st.floats(allow_nan=False, allow_infinity=False, width=32) | NEAR_MISSES | st.text(max_size=12))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=10) | NEAR_MISSES, inner, max_size=3), max_leaves=6)


def _paths(node, prefix=()):
    yield prefix
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in children:
        yield from _paths(child, prefix + (key,))


def _parent(doc, path):
    for key in path[:-1]:
        doc = doc[key]
    return doc


def _same_kind(value):
    """A plausible edit: another value of the same JSON kind."""
    if isinstance(value, bool):
        return st.just(not value)
    if isinstance(value, int):
        return st.integers(0, 2000) | st.sampled_from([86400, 1209600, 10**6])
    if isinstance(value, str):
        return NEAR_MISSES
    if isinstance(value, list) and value:
        return st.integers(0, len(value) - 1).map(lambda i: value[:i] + value[i + 1:])
    return st.just(value)


@st.composite
def mutated_configs(draw):
    base, folder = draw(st.sampled_from(BASES))
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from([p for p in _paths(doc) if p]))
        parent, key = _parent(doc, path), path[-1]
        operation = draw(st.sampled_from(["tweak", "tweak", "replace", "delete", "add", "duplicate"]))
        if operation == "tweak":
            parent[key] = draw(_same_kind(parent[key]))
        elif operation == "replace":
            parent[key] = draw(VALUES)
        elif operation == "delete":
            del parent[key]
        elif operation == "add" and isinstance(parent, dict):
            parent[draw(NEAR_MISSES | st.text(max_size=10))] = draw(VALUES)
        elif operation == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
    return doc, folder


def _with(source: str, path: tuple, value):
    """A found failure as an explicit example: a source config with one value changed."""
    doc = json.loads(SOURCES_FOR_TOOLS[source].read_text())
    _parent(doc, path)[path[-1]] = value
    return doc, SOURCES_FOR_TOOLS[source].parent


def _compile(doc, folder: Path):
    return compile_config(load_document(doc, folder), folder)


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(mutated_configs(), st.integers(0, 29))
@example(_with("pipeline-ncap-dlc", ("Lambda", "LambdaConfig", "SECURITY_GROUPS"), "\x1f"), 0)  # cfn-lint E1153
def test_mutated_config_compiles_or_raises_a_clean_error(case, lint_ticket):
    """Every compiled template goes through the SAM translator; one in 30 also through cfn-lint
    (a second each, so linting all would take most of an hour)."""
    doc, folder = case
    try:
        compiled = _compile(doc, folder)
    except NcapError as error:
        event(type(error).__name__)
        assert error.lines() and all(line.strip() for line in error.lines())
        return
    event("compiled")
    translated = translate(compiled.template, compiled.config.region, "s3://code/lambda.zip")
    assert all(re.fullmatch(r"[A-Za-z0-9]+", logical_id) for logical_id in translated["Resources"])
    if lint_ticket == 0:
        event("linted")
        assert [str(f) for f in lint_template(compiled.template, compiled.config.region)] == []


NAME = st.from_regex(r"[a-z][a-z0-9]{1,8}(-[a-z0-9]{1,6})?", fullmatch=True)


@st.composite
def valid_configs(draw):
    labs = draw(st.lists(NAME, min_size=1, max_size=4, unique_by=lambda n: re.sub("[^a-z0-9]", "", n)))
    affiliates = [{"AffiliateName": lab, "UserNames": [f"{lab}-u{i}" for i in range(draw(st.integers(0, 3)))],
                   "ExistingUserNames": [f"{lab}-old"], "ConsoleLogin": draw(st.booleans()),
                   "ContactEmail": f"{lab}@example.org"} for lab in labs]
    first = draw(st.integers(1, 20))
    steps = [{"QueuedJobs": first, "AddInstances": 1}] + draw(st.sampled_from(
        [[], [{"QueuedJobs": first + 10, "AddInstances": 2}]]))
    fileset = draw(st.booleans())
    return minimal_config(
        PipelineName=draw(NAME).ljust(3, "x"), REGION=draw(st.sampled_from(["us-east-1", "eu-west-1", "us-west-2"])),
        Workers={"AMI": "ami-0123456789abcdef0", "Command": "run.sh {} {} {} {}", "MaxSize": draw(st.integers(2, 10)),
                 "Spot": draw(st.booleans()), "SecurityGroups": draw(st.sampled_from([[], ["sg-0123456789abcdef0"]]))},
        Queue={"Fifo": draw(st.booleans()), "MaxReceiveCount": draw(st.integers(1, 10))},
        Scaling={"ScaleOut": steps, "EvaluationPeriods": draw(st.integers(1, 5))},
        Trigger={"Mode": "fileset", "Suffixes": [".mp4", ".hpf"]} if fileset else {"Mode": "submit"},
        Notifications={"OperatorEmails": draw(st.sampled_from([[], ["ops@example.org"]]))},
        DataRetention={"RetainBucketOnDelete": draw(st.booleans())},
        UXData={"Affiliates": affiliates})


@settings(max_examples=examples(25), suppress_health_check=[HealthCheck.too_slow])
@given(valid_configs())
def test_random_valid_config_passes_cfn_lint_and_translation(doc):
    compiled = _compile(doc, Path(__file__).parent)
    assert [str(f) for f in lint_template(compiled.template, compiled.config.region)] == []
    translate(compiled.template, compiled.config.region, "s3://code/lambda.zip")
