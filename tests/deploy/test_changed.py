"""`ncap changed` on a real git history: the pipelines whose folder changed, every pipeline when
shared code changed, the removed ones named."""
import subprocess

import pytest

from ncap_iac.deploy.changed import changes_since

from deploy_helpers import assert_clean_failure, cli


def git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@e", "PATH": "/usr/bin:/bin", "HOME": str(root)})


@pytest.fixture
def repository(tmp_path):
    for path in ["pipelines/a/stack_config.json", "pipelines/b/stack_config.json", "pipelines/c/stack_config.json",
                 "lambda_repo/submit_start.py", "README.md"]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("{}\n")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "start")
    git(tmp_path, "checkout", "-q", "-b", "change")
    return tmp_path


def commit(root, edits):
    for path, text in edits.items():
        if text is None:
            (root / path).unlink()
        else:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "edit")


def test_changed_lists_the_pipelines_whose_folder_changed(repository):
    commit(repository, {"pipelines/b/stack_config.json": '{"x": 1}\n', "pipelines/b/analysis.py": "", "README.md": "x"})
    changes = changes_since("main", "pipelines", repository)
    assert (changes.pipelines, changes.shared, changes.removed) == (["pipelines/b"], [], [])


def test_shared_code_changes_every_pipeline_and_removed_ones_are_named(repository):
    commit(repository, {"lambda_repo/submit_start.py": "# new\n", "pipelines/c/stack_config.json": None})
    changes = changes_since("main", "pipelines", repository)
    assert changes.pipelines == ["pipelines/a", "pipelines/b"]
    assert (changes.shared, changes.removed) == (["lambda_repo/submit_start.py"], ["pipelines/c"])


def test_ncap_changed_prints_one_folder_per_line_and_explains_on_stderr(repository):
    commit(repository, {"pipelines/a/stack_config.json": '{"y": 2}\n'})
    result = cli("changed", "--base", "main", cwd=repository)
    assert (result.returncode, result.stdout) == (0, "pipelines/a\n")
    assert result.stderr == "1 pipeline(s) to ship since main: their folders changed\n"
    assert_clean_failure(cli("changed", "--base", "no-such-ref", cwd=repository),
                         "no-such-ref: no such commit here (a CI checkout needs the history: fetch-depth 0)")
