"""checkov on every example pipeline and valid fixture as `ncap compile CONFIG -o DIR/` writes them
(each lab's nested template included), and on the example directory, after the SAM transform: no
check fails. A check that fails
on purpose is skipped in .checkov.yaml, with its reason in the comment lines above the entry.
checkov runs once over all templates, from its own venv (.venv-checkov, which `make test` installs)."""
import json
import re
import subprocess

import pytest
import yaml

from ncap_iac.compiler import compile_directory_file, compile_file
from ncap_iac.translate import translate

from conftest import REPO, SOURCES_FOR_TOOLS, directory_golden_sources

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
SETTINGS = REPO / ".checkov.yaml"
CODE = "s3://ncap-test-code/lambda.zip"
# an entry of skip-check and the comment lines right above it (its reason)
SKIP_ENTRY = re.compile(r"((?:^[ \t]*#.*\n)+)^[ \t]*-[ \t]*(\S+)[ \t]*$", re.MULTILINE)


def _deployed(template: dict, region: str) -> dict:
    """The template as CloudFormation deploys it: a nested lab template is plain CloudFormation."""
    return translate(template, region, CODE) if "Transform" in template else template


def _write_deployed(out_dir, scan_dir) -> dict[str, int]:
    """Compile every source into out_dir/NAME/, write its templates after the transform into
    scan_dir/NAME/; each written path (relative to scan_dir) -> its number of resources."""
    written = {}
    for name, source in sorted(SOURCES_FOR_TOOLS.items()):
        compiled, target = compile_file(source, f"{out_dir / name}/")
        for path in [target, *(target.parent / child for child in sorted(compiled.children))]:
            template = _deployed(json.loads(path.read_text()), compiled.config.region)
            relative = f"{name}/{path.relative_to(target.parent).as_posix()}"
            (scan_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            (scan_dir / relative).write_text(json.dumps(template, indent=1))
            written[relative] = len(template["Resources"])
    for name, source in sorted(directory_golden_sources().items()):
        _, target = compile_directory_file(source, f"{out_dir / name}/")
        template = _deployed(json.loads(target.read_text()), "us-east-1")
        relative = f"{name}/{target.name}"
        (scan_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (scan_dir / relative).write_text(json.dumps(template, indent=1))
        written[relative] = len(template["Resources"])
    return written


def _run_checkov(scan_dir) -> dict:
    run = subprocess.run([str(CHECKOV), "-d", str(scan_dir), "--config-file", str(SETTINGS),
                          "--framework", "cloudformation", "-o", "json", "--compact", "--skip-download"],
                         capture_output=True, text=True, cwd=scan_dir, timeout=600)
    assert run.returncode in (0, 1), run.stdout + run.stderr  # 1: a check failed, reported below
    return json.loads(run.stdout)


def _pinned_version() -> str:
    return re.search(r"^CHECKOV_VERSION\s*:=\s*(\S+)", (REPO / "Makefile").read_text(), re.MULTILINE)[1]


def test_checkov_fails_no_check(tmp_path):
    if not CHECKOV.is_file():
        pytest.fail(f"checkov is not installed at {CHECKOV.relative_to(REPO)} (`make test` installs it)",
                    pytrace=False)
    written = _write_deployed(tmp_path / "compiled", tmp_path / "scan")
    report = _run_checkov(tmp_path / "scan")
    summary, results = report["summary"], report["results"]
    assert summary["checkov_version"] == _pinned_version(), "a stale .venv-checkov: `make test` reinstalls it"
    assert summary["parsing_errors"] == 0, results["parsing_errors"]
    assert summary["resource_count"] == sum(written.values())
    checked = {c["file_path"].lstrip("/") for c in results["passed_checks"] + results["failed_checks"]}
    assert checked == set(written)
    failed = sorted(f"{c['check_id']} {c['resource']} {c['file_path'].lstrip('/')}: {c['check_name']}"
                    for c in results["failed_checks"])
    assert not failed, ("checkov checks failed (fix the template, or skip the check in .checkov.yaml "
                        "with its reason):\n" + "\n".join(failed))


def test_every_skipped_check_has_its_reason():
    text = SETTINGS.read_text()
    settings = yaml.safe_load(text)
    assert set(settings) == {"skip-check"}, "other settings (check, skip-path, ...) would skip without a reason"
    skipped = settings["skip-check"]
    reasons = {check: " ".join(line.strip(" \t#") for line in comment.splitlines())
               for comment, check in SKIP_ENTRY.findall(text)}
    assert sorted(reasons) == sorted(skipped), "each skip-check entry needs comment lines right above it"
    assert all(re.fullmatch(r"CKV_AWS_\d+", check) for check in skipped), "skip by check id only"
    assert all(len(reason) > 40 for reason in reasons.values()), reasons
