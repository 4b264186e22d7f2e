"""The shipping subcommands as users meet them: help that explains each one."""
import pytest

from deploy_helpers import cli

COMMANDS = ["build", "package", "deploy", "diff", "delete", "credentials", "changed"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command):
    result = cli(command, "--help")
    assert result.returncode == 0
    assert len(result.stdout.split("options:")[0].split("\n\n", 1)[1]) > 120, result.stdout
