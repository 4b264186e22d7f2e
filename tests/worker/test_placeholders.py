"""COMMAND -> argv: NCAP's positional {} and the named placeholders, with and without shell syntax;
hostile values (quotes, $(...), ;, backticks, newlines) reach the command as plain arguments."""
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ncap_iac.errors import NcapError
from ncap_iac.worker.placeholders import check_template, command_argv, has_shell_syntax, shell_script

from fuzz import examples

VALUES = {"bucket": "lab-pipeline", "dataname": "labA/inputs/x.csv",
          "resultpath": "labA/results/job_1/process_results/", "configname": "labA/configs/c.yaml"}
HOSTILE = {"bucket": "lab-pipeline", "dataname": "labA/inputs/a'b\"c $(touch pwned1); `touch pwned2`.csv",
           "resultpath": "labA/results/job_1/process_results/; touch pwned3 #/",
           "configname": "labA/configs/$HOME *  two  spaces\nnewline & touch pwned4 | x.yaml"}


@pytest.mark.parametrize("command, expected", [
    pytest.param("python3 run.py {} {} {} {}", ["python3", "run.py", *VALUES.values()], id="ncap-positional"),
    pytest.param("run --in {dataname} --out {resultpath} --cfg {configname}",
                 ["run", "--in", VALUES["dataname"], "--out", VALUES["resultpath"], "--cfg", VALUES["configname"]],
                 id="named"),
    pytest.param("run s3://{}/{} '{}'", ["run", "s3://lab-pipeline/labA/inputs/x.csv", VALUES["resultpath"]],
                 id="several-in-one-token"),
    pytest.param("run {bucket} {} {}", ["run", "lab-pipeline", "lab-pipeline", "labA/inputs/x.csv"],
                 id="named-does-not-use-a-slot"),
    pytest.param("run 'a b' \"c d\" {x} {}", ["run", "a b", "c d", "{x}", "lab-pipeline"], id="quotes-and-other-braces"),
])
def test_argv_without_shell(command, expected):
    assert not has_shell_syntax(command)
    assert command_argv(command, VALUES) == expected


def test_missing_config_is_an_empty_argument():
    assert command_argv("run {configname} {}", {**VALUES, "configname": None}) == ["run", "", "lab-pipeline"]


@pytest.mark.parametrize("command", ["a; b", "a | b", "a && b", "echo $X", "a > f", "a < f", "echo `x`",
                                     "(a)", "a\nb"], ids=lambda c: repr(c))
def test_shell_syntax_is_detected(command):
    assert has_shell_syntax(command)


@pytest.mark.parametrize("command, script", [
    pytest.param('ls; cd ../../../home/ubuntu; bin/run.sh "{}" "{}" "{}" "{}"',
                 'ls; cd ../../../home/ubuntu; bin/run.sh "${1}" "${2}" "${3}" "${4}"', id="ncap-config"),
    pytest.param("cd x; run '{}' {}", 'cd x; run "${1}" "${2}"', id="single-quoted-and-bare"),
    pytest.param('cd x; run "s3://{}/{dataname}" {configname}', 'cd x; run "s3://${1}/${2}" "${4}"',
                 id="inside-double-quotes-and-named"),
    pytest.param("cd x; run 'a {} b'", "cd x; run 'a '\"${1}\"' b'", id="inside-single-quotes"),
    pytest.param('cd x; echo \\"{}\\"', 'cd x; echo \\""${1}"\\"', id="escaped-quotes-are-not-quotes"),
    pytest.param("cd x; run {resultpath}{}", 'cd x; run "${3}""${1}"', id="named-then-positional"),
])
def test_shell_script_references_parameters(command, script):
    assert shell_script(command) == script
    argv = command_argv(command, VALUES)
    assert argv[:3] == ["bash", "-c", script] and argv[4:] == list(VALUES.values())


def run_argv(argv, cwd):
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("command", [
    pytest.param('cd .; printf "%s\\n" "{}" "{}" "{}" "{}" > out.txt', id="ncap-style-quoted"),
    pytest.param("printf '%s\\n' {} '{}' {resultpath} \"{configname}\" > out.txt", id="bare-single-named"),
])
def test_hostile_values_through_bash_are_never_interpreted(command, tmp_path):
    result = run_argv(command_argv(command, HOSTILE), tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.txt").read_text() == "".join(f"{v}\n" for v in HOSTILE.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"], "nothing else was created"


def test_hostile_values_without_shell_are_plain_arguments(tmp_path):
    command = "python3 -c 'import sys, pathlib; pathlib.Path(\"out.txt\").write_text(repr(sys.argv[1:]))' {} {} {} {}"
    result = run_argv(command_argv(command, HOSTILE), tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.txt").read_text() == repr(list(HOSTILE.values()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


@settings(max_examples=examples(40), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                               max_size=30), min_size=4, max_size=4))
def test_any_value_arrives_unchanged_through_bash(values):
    named = dict(zip(VALUES, values))
    argv = command_argv('x=1; printf "%s\\0" "{}" {dataname} \'{}\' "a{configname}b"', named)
    result = subprocess.run(argv, capture_output=True, timeout=30)
    assert result.stdout.decode("utf-8", "surrogateescape").split("\0")[:-1] == [
        values[0], values[1], values[1], f"a{values[3]}b"]


@pytest.mark.parametrize("command, message", [
    pytest.param("run {} {} {} {} {}", "5 positional {} slots", id="five-slots"),
    pytest.param("run 'unbalanced", "cannot split it", id="unbalanced-quote"),
    pytest.param("   ", "no program", id="blank"),
])
def test_commands_that_cannot_work_are_refused(command, message):
    with pytest.raises(NcapError, match=message):
        check_template(command)
