"""The `ncap` command as users run it: a real subprocess, checked for exit codes, the lines on
stdout/stderr, and the files it writes (or does not write)."""
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ncap_iac.config import load

from conftest import EXAMPLES, FIXTURES, REPO, example_config, require_tool
from factories import many_labs_config

NCAP = [sys.executable, "-m", "ncap_iac.cli"]
NCAP_SCRIPT = Path(sys.executable).with_name("ncap")
CONFIG_HANDLER = REPO / "template_utils" / "config_handler.py"
CODE_FOLDER = "ncap_functions"
HANDLERS = ("submit_start.handler", "folders.handler", "users.handler", "monitor.handler")
TEMPLATE, SAMCONFIG = "compiled_template.json", "samconfig.toml"
CAPABILITIES = "CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND"

VALID = {f"example-{n}": example_config(n) for n in EXAMPLES}
VALID.update({f"fixture-{p.stem}": p for p in sorted((FIXTURES / "valid").glob("*.json"))})
INVALID = {f"{p.parent.name}-{p.stem}": p for p in sorted(FIXTURES.glob("*/*.json"))
           if p.with_suffix(".expected").exists()}


def run(*args, cwd=REPO, command=NCAP):
    return subprocess.run([*command, *map(str, args)], cwd=cwd, capture_output=True,
                          encoding="utf-8", errors="replace", timeout=120)


def ncap(*args, cwd=REPO):
    return run(*args, cwd=cwd)


def assert_no_traceback(result):
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


def assert_clean_failure(result, n_lines=1):
    """Exit 1, n_lines on stderr, nothing on stdout, no traceback."""
    assert_no_traceback(result)
    assert result.returncode == 1, result.stderr
    assert len(result.stderr.splitlines()) == n_lines, result.stderr
    assert result.stdout == ""


def expected_paths(config: Path) -> list[str]:
    text = config.with_suffix(".expected").read_text()
    return [line.split("\t")[0] for line in text.splitlines()]


def copy_config(source: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(source, folder / "stack_config.json"))


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def code_uris(template_file: Path) -> list[Path]:
    """Every CodeUri of the written template, resolved relative to the template's folder."""
    resources = json.loads(template_file.read_text())["Resources"].values()
    uris = [r["Properties"]["CodeUri"] for r in resources if "CodeUri" in r.get("Properties", {})]
    return [(template_file.parent / uri).resolve() for uri in uris]


def assert_code_beside(template_file: Path, monitored: bool = True, users: bool = True) -> None:
    """Every function's code is the folder beside the template, holding the handler it names;
    the monitor function exists only where the config monitors (MONITOR), the users function only
    where the labs have IAM users (no Access)."""
    resources = json.loads(template_file.read_text())["Resources"].values()
    functions = [r["Properties"] for r in resources if r["Type"] == "AWS::Serverless::Function"]
    expected = [h for h in HANDLERS if (monitored or h != "monitor.handler") and (users or h != "users.handler")]
    assert sorted(f["Handler"] for f in functions) == sorted(expected)
    assert set(code_uris(template_file)) == {template_file.parent / CODE_FOLDER}
    for function in functions:
        module, name = function["Handler"].rsplit(".", 1)
        assert f"def {name}(" in (template_file.parent / CODE_FOLDER / f"{module}.py").read_text()


# validate -------------------------------------------------------------------------------------

@pytest.mark.parametrize("config", VALID.values(), ids=VALID.keys())
def test_validate_accepts_valid_config(config):
    result = ncap("validate", config)
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1 and result.stdout.startswith(f"{config}: valid: ")
    assert all(line.startswith(("warning: ", "note: ")) for line in result.stderr.splitlines()), result.stderr


def test_validate_prints_seed_config_warnings_on_stderr():
    result = ncap("validate", example_config("ncap-dlc"))
    assert result.returncode == 0
    lines = result.stderr.splitlines()
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert warnings and all(w.startswith(("warning: ", "note: ")) for w in lines), result.stderr
    assert any("Lambda.LambdaConfig.IAM_ROLE" in w for w in warnings)
    assert "warning: UserInput, in 2 labs (carcealab2, testergroup2): NCAP marks it not implemented; ignored" \
        in warnings  # one line per kind, not one per lab
    assert len(warnings) == len({w.split(":", 2)[1] for w in warnings})
    assert "warning" not in result.stdout
    quiet = ncap("validate", example_config("ncap-dlc"), "-q")
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == result.stdout


@pytest.mark.parametrize("config", INVALID.values(), ids=INVALID.keys())
def test_validate_reports_one_line_per_problem(config):
    result = ncap("validate", config)
    expected = expected_paths(config)
    summary = [f"{len(expected)} problems found; nothing was written"] if len(expected) > 1 else []
    assert_clean_failure(result, n_lines=len(expected) + len(summary))
    problems = result.stderr.splitlines()[:len(expected)]
    assert result.stderr.splitlines()[len(expected):] == summary
    assert sorted(line.split(": ", 1)[0] for line in problems) == sorted(expected)
    for path, line in zip(sorted(expected), sorted(problems)):
        assert line.startswith(f"{path}: ") and line[len(path) + 2:].strip(), line


# unreadable files ------------------------------------------------------------------------------

BAD_FILES = {
    "missing-file": None,
    "empty-file": b"",
    "folder": "folder",
    "not-utf8": b'{"PipelineName": "\xff\xfe"}',
    "invalid-json": b'{"PipelineName": ',
    "top-level-list": b'[{"PipelineName": "x"}]',
}


def make_bad_file(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "cfg" / "stack_config.json"
    path.parent.mkdir()
    content = BAD_FILES[kind]
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    return path


@pytest.mark.parametrize("command", ["validate", "compile"])
@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_file_is_one_clean_line(tmp_path, kind, command):
    path = make_bad_file(tmp_path, kind)
    before = files_in(tmp_path)
    assert_clean_failure(ncap(command, path))
    assert files_in(tmp_path) == before


# compile ---------------------------------------------------------------------------------------

OUTPUTS = {"default": (None, "cfg"), "folder": ("out/dir/", "out/dir"),
           "file": ("out/custom.json", "out")}


@pytest.mark.parametrize("output", OUTPUTS, ids=[f"output-{o}" for o in OUTPUTS])
@pytest.mark.parametrize("name", EXAMPLES)
def test_compile_writes_template_and_samconfig(tmp_path, name, output):
    """-o is given relative to the working folder, as users type it."""
    config = copy_config(example_config(name), tmp_path / "cfg")
    out, folder = OUTPUTS[output]
    result = ncap("compile", config, *(["-o", out] if out else []), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_no_traceback(result)
    template = tmp_path / folder / (Path(out).name if output == "file" else TEMPLATE)
    assert template.is_file() and (template.parent / SAMCONFIG).is_file()
    doc = json.loads(config.read_text())
    assert_code_beside(template, monitored=load(config).monitor, users=not load(config).uses_directory)
    sam = tomllib.loads((template.parent / SAMCONFIG).read_text())["default"]
    assert sam["global"]["parameters"] == {"stack_name": doc["PipelineName"],
                                           "region": doc["REGION"]}
    assert sam["deploy"]["parameters"]["capabilities"] == CAPABILITIES
    assert sam["build"]["parameters"]["template_file"] == template.name


def test_seed_config_lambda_code_means_the_products_functions(tmp_path):
    config = copy_config(example_config("ncap-dlc"), tmp_path / "seed")
    assert json.loads(config.read_text())["Lambda"]["CodeUri"] == "lambda_code"
    result = ncap("compile", config)
    assert result.returncode == 0
    assert "note: Lambda.CodeUri: 'lambda_code' with handler 'submit_start.handler' names NCAP's submit code" \
        in result.stderr
    assert_code_beside(tmp_path / "seed" / TEMPLATE)


@pytest.mark.parametrize("config", INVALID.values(), ids=INVALID.keys())
def test_compile_invalid_config_writes_nothing(tmp_path, config):
    copy = copy_config(config, tmp_path / "cfg")
    result = ncap("compile", copy, "-o", f"{tmp_path}/out/")
    assert result.returncode == 1 and "nothing was written" in result.stderr
    assert_no_traceback(result)
    assert files_in(tmp_path) == ["cfg/stack_config.json"]


def test_compile_gives_same_template_from_any_working_directory(tmp_path):
    config = copy_config(example_config("cis-imu"), tmp_path / "cfg")
    (tmp_path / "elsewhere").mkdir()
    bodies = []
    runs = [(REPO, config), (tmp_path / "elsewhere", config), (tmp_path, "cfg/stack_config.json")]
    for cwd, path in runs:
        assert ncap("compile", path, cwd=cwd).returncode == 0
        bodies.append((tmp_path / "cfg" / TEMPLATE).read_text())
        (tmp_path / "cfg" / TEMPLATE).unlink()
    assert bodies[0] == bodies[1] == bodies[2]


@pytest.mark.parametrize("command", ["compile", "lint"])
def test_too_many_resources_is_one_clean_line(tmp_path, command):
    config = tmp_path / "stack_config.json"
    config.write_text(json.dumps(many_labs_config(500, 1)))
    result = ncap(command, config)
    assert_clean_failure(result)
    assert "500" in result.stderr and "too many" in result.stderr
    assert files_in(tmp_path) == ["stack_config.json"]


# config_handler.py -----------------------------------------------------------------------------

def test_config_handler_matches_ncap_compile(tmp_path):
    config = copy_config(example_config("ncap-dlc"), tmp_path / "cfg")
    (tmp_path / "elsewhere").mkdir()
    handler = run(CONFIG_HANDLER, config, cwd=tmp_path / "elsewhere", command=[sys.executable])
    assert handler.returncode == 0, handler.stderr
    from_handler = (tmp_path / "cfg" / TEMPLATE).read_text()
    assert ncap("compile", config).returncode == 0
    assert (tmp_path / "cfg" / TEMPLATE).read_text() == from_handler
    assert [f for f in files_in(tmp_path) if CODE_FOLDER not in f] == [
        "cfg/compiled_template.json", "cfg/samconfig.toml", "cfg/stack_config.json"]


def test_config_handler_help(tmp_path):
    result = run(CONFIG_HANDLER, "--help", cwd=tmp_path, command=[sys.executable])
    assert result.returncode == 0 and "config_handler.py" in result.stdout


# lint ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compiled_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lint")
    config = copy_config(example_config("cis-imu"), folder)
    assert ncap("compile", config).returncode == 0
    return folder / TEMPLATE


@pytest.mark.parametrize("source", ["config", "template"])
def test_lint_passes_examples(source, compiled_template):
    target = example_config("local-demo") if source == "config" else compiled_template
    result = ncap("lint", target)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors and warnings" in result.stdout


def test_lint_fails_a_broken_template(tmp_path, compiled_template):
    template = json.loads(compiled_template.read_text())
    template["Resources"]["JobQueue"]["Properties"]["VisibilityTimeout"] = 99999
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(template))
    result = ncap("lint", broken)
    assert result.returncode == 1
    assert "E3034" in result.stdout
    assert_no_traceback(result)


def test_lint_unknown_region_is_one_clean_line(tmp_path):
    (tmp_path / "template.json").write_text(json.dumps({"Resources": {}}))
    assert_clean_failure(ncap("lint", tmp_path / "template.json", "--region", "us-eats-1"))


# --debug, --help and usage errors ---------------------------------------------------------------

def test_debug_shows_traceback():
    result = ncap("--debug", "validate", FIXTURES / "invalid" / "missing.json")
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "ConfigError" in result.stderr


def test_entry_point_help_lists_subcommands():
    script = require_tool("the ncap entry point", NCAP_SCRIPT if NCAP_SCRIPT.exists() else None,
                          "`pip install -e .` puts it beside python")
    result = run("--help", command=[script])
    assert result.returncode == 0
    for word in ("validate", "compile", "lint", "--debug"):
        assert word in result.stdout


HELP_WORDS = {"validate": ["config"], "compile": ["config", "--output"],
              "lint": ["path", "--region"], "cost": ["simulate", "estimate", "report"]}


def test_ncap_cost_is_a_command_of_the_cli():
    result = ncap("cost", "estimate", example_config("local-demo").parent, "--jobs-per-month", "20", "--minutes", "15",
                  "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["jobs"] == 20
    result = ncap("cost", "report", "--help")
    assert result.returncode == 0 and "--endpoint-url" in result.stdout and "spent_usd" in result.stdout


@pytest.mark.parametrize("command", HELP_WORDS)
def test_subcommand_help(command):
    result = ncap(command, "--help")
    assert result.returncode == 0
    assert all(word in result.stdout for word in HELP_WORDS[command]), result.stdout


@pytest.mark.parametrize("args", [["frobnicate"], [], ["compile"], ["lint", "a.json", "--nope"]],
                         ids=["unknown-command", "no-command", "missing-config", "unknown-option"])
def test_usage_errors_exit_2(args):
    result = ncap(*args)
    assert result.returncode == 2
    assert "usage: ncap" in result.stderr
    assert_no_traceback(result)


# simevent and invoke ------------------------------------------------------------------------

def test_simevent_s3_put_prints_an_event_with_the_key_encoded_as_s3_does():
    result = ncap("simevent", "s3-put", "--bucket", "b", "--key", "lab a/submissions/ü submit.json", "--size", "9")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)["Records"][0]
    assert record["s3"]["object"]["key"] == "lab+a/submissions/%C3%BC+submit.json"
    assert (record["s3"]["bucket"]["name"], record["s3"]["object"]["size"]) == ("b", 9)


def test_simevent_cfn_reads_properties_from_a_file(tmp_path):
    (tmp_path / "props.json").write_text('{"BucketName": "b", "Affiliates": ["lab"]}')
    result = ncap("simevent", "cfn", "--request", "Update", "--properties", f"@{tmp_path / 'props.json'}",
                  "--old-properties", '{"BucketName": "b", "Affiliates": []}')
    event = json.loads(result.stdout)
    assert (event["RequestType"], event["ResourceProperties"]["Affiliates"]) == ("Update", ["lab"])
    assert event["OldResourceProperties"]["Affiliates"] == []


@pytest.mark.parametrize("args", [
    pytest.param(["ec2-state", "--instance-id", "i-1", "--state", "exploded"], id="unknown-state"),
    pytest.param(["cfn", "--request", "Create", "--properties", "{oops"], id="properties-not-json"),
    pytest.param(["cfn", "--request", "Create", "--properties", "@/no/such/file.json"], id="properties-file-missing"),
    pytest.param(["s3-put", "--bucket", "b", "--key", "k", "--size", "-1"], id="negative-size"),
])
def test_simevent_bad_arguments_are_one_clean_line(args):
    assert_clean_failure(ncap("simevent", *args))


@pytest.mark.parametrize("args, fragment", [
    pytest.param(["NoSuchFunction"], "no such function", id="unknown-function"),
    pytest.param(["FoldersFunction", "--event", "/no/such/event.json"], "event not found", id="missing-event"),
    pytest.param(["FoldersFunction", "--env-vars", "{}"], "env-vars file not found", id="env-vars-not-a-file"),
])
def test_invoke_bad_arguments_are_one_clean_line(tmp_path, args, fragment):
    template = tmp_path / TEMPLATE
    ncap("compile", example_config("local-demo"), "-o", template)
    result = ncap("invoke", *args, "--template", template)
    assert_clean_failure(result)
    assert fragment in result.stderr


def test_invoke_without_a_template_says_so(tmp_path):
    result = ncap("invoke", "SubmitFunction", cwd=tmp_path)
    assert_clean_failure(result)
    assert "compiled_template.json: template not found" in result.stderr
