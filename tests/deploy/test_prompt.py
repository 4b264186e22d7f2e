"""Asking before a change: without a terminal to ask on, `ncap deploy` and `ncap delete` want
--yes and do nothing at all (no compile, no change set, no deletion). (Answering "no":
test_changeset.py and test_removal.py.)"""
from deploy_helpers import (  # noqa: F401  (fixtures: demo, emulator)
    ARTIFACTS,
    assert_clean_failure,
    cli,
    client,
    demo,
    emulator,
    ncap,
    pipeline_copy,
)


def test_without_a_terminal_deploy_and_delete_want_yes_and_do_nothing(capsys, demo):
    code, out, err = ncap(capsys, "deploy", demo, "--method", "changeset", "--s3-bucket", ARTIFACTS)
    assert (code, out) == (1, "")
    assert err == "ncap deploy asks for confirmation, but there is no terminal to ask on: pass --yes to go ahead without asking\n"
    code, out, err = ncap(capsys, "delete", demo)
    assert code == 1 and "pass --yes" in err
    assert client("cloudformation").list_stacks()["StackSummaries"] == []


def test_deploy_without_a_terminal_needs_yes_before_doing_anything(tmp_path):
    folder = pipeline_copy(tmp_path, "local-demo")
    result = cli("deploy", folder, "--s3-bucket", "b", "--endpoint-url", "http://localhost:9")
    assert_clean_failure(result, "ncap deploy asks for confirmation, but there is no terminal to ask on: "
                                 "pass --yes to go ahead without asking")
    assert not (folder / "compiled_template.json").exists()
