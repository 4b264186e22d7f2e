"""`ncap credentials`: the lab users' keys from Secrets Manager go to a file only its owner can
read (or to stdout when asked), never into the output; without credentials or an endpoint, one
clean line."""
import json
import os
import stat

from deploy_helpers import (  # noqa: F401  (fixtures: demo, emulator)
    assert_clean_failure,
    cli,
    client,
    demo,
    deploy,
    emulator,
    ncap,
    pipeline_copy,
)

KEYS = "ncap/ncap-local-demo/keys/"


def test_credentials_go_to_a_private_file_and_never_to_stdout(capsys, demo, tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)  # printing is refused in CI; the refusal has its own test
    assert deploy(capsys, demo)[0] == 0
    code, out, err = ncap(capsys, "credentials", demo, "--user", "alice")
    assert code == 0, err
    path = tmp_path / "ncap-local-demo-alice.credentials"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    secret = json.loads(client("secretsmanager").get_secret_value(SecretId=KEYS + "alice")["SecretString"])
    text = path.read_text()
    assert "[ncap-local-demo-alice]" in text and secret["SecretAccessKey"] in text
    assert secret["SecretAccessKey"] not in out + err and f"to {path.name}" in out

    code, out, err = ncap(capsys, "credentials", demo, "--stdout")
    assert code == 0, err
    assert secret["SecretAccessKey"] in out and "[ncap-local-demo-bob]" in out
    assert secret["SecretAccessKey"] not in err

    code, out, err = ncap(capsys, "credentials", demo, "--user", "mallory")
    assert (code, err) == (1, "mallory: not a user this pipeline creates (users: alice, bob)\n")


def test_missing_credentials_and_an_unreachable_endpoint_are_clean_errors(tmp_path):
    import os

    folder = pipeline_copy(tmp_path, "local-demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    result = cli("credentials", folder, "--endpoint-url", "http://localhost:9", env=env)
    assert_clean_failure(result, "cannot read stack ncap-local-demo: no AWS credentials found (set AWS_PROFILE, or "
                                 "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; in CI assume a role through OIDC)")
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_MAX_ATTEMPTS="1")
    result = cli("credentials", folder, "--endpoint-url", "http://localhost:9", env=env)
    assert_clean_failure(result, "cannot read stack ncap-local-demo: cannot reach http://localhost:9/: is it running, "
                                 "and is the address right?")


def test_printing_keys_is_refused_in_ci_unless_forced(capsys, demo, monkeypatch):
    assert deploy(capsys, demo)[0] == 0
    monkeypatch.setenv("CI", "true")
    code, out, err = ncap(capsys, "credentials", demo, "--stdout")
    assert (code, out) == (1, "") and "--stdout: refused because CI is set" in err
    code, out, err = ncap(capsys, "credentials", demo, "--stdout", "--force")
    assert code == 0, err
    assert "[ncap-local-demo-alice]" in out and "[ncap-local-demo-bob]" in out
