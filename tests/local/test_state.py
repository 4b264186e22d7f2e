"""Finding a running local cloud from its state folder (what `ncap invoke` uses when no
--env-vars is given): only a live `ncap local up` counts, and a local.json it cannot use is a
clear error, never a traceback."""
import json
import os
import subprocess
import sys

import pytest

from ncap_iac.errors import NcapError
from ncap_iac.local import state

from cloud_helpers import ncap

GOOD = {"stack_name": "ncap-x", "endpoint_url": "http://localhost:1", "region": "us-east-1",
        "admin": {"access_key_id": "AKIAEXAMPLE", "secret_access_key": "example"},
        "functions": {"SubmitFunction": {"QUEUE_URL": "https://queue"}}}


@pytest.fixture
def fake_up():
    """A live process whose command line reads like `... local up ...`."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "local", "up"])
    yield process.pid
    process.kill()
    process.wait()


def write(folder, local, up_pid):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pids.json").write_text(json.dumps({"up": up_pid, "moto": None, "workers": []}))
    (folder / "local.json").write_text(local if isinstance(local, str) else json.dumps(local))


def test_a_running_cloud_is_found(tmp_path, fake_up):
    write(tmp_path, GOOD, fake_up)
    assert state.running_cloud("ncap-x", tmp_path, tmp_path) == GOOD


@pytest.mark.parametrize("why", ["no-files", "other-stack", "dead-up", "pid-not-local-up"])
def test_no_cloud_when_none_runs_there(tmp_path, fake_up, why):
    if why != "no-files":
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout.strip()
        up = {"dead-up": int(dead), "pid-not-local-up": os.getpid()}.get(why, fake_up)
        write(tmp_path, {**GOOD, "stack_name": "ncap-other"} if why == "other-stack" else GOOD, up)
    assert state.running_cloud("ncap-x", tmp_path, tmp_path) is None


@pytest.mark.parametrize("broken", [
    {**GOOD, "functions": None}, {**GOOD, "functions": {"SubmitFunction": "x"}},
    {k: v for k, v in GOOD.items() if k != "endpoint_url"}, {**GOOD, "admin": {"access_key_id": 1}},
    {k: v for k, v in GOOD.items() if k != "functions"},
], ids=["functions-null", "function-not-object", "no-endpoint", "bad-admin", "older-version"])
def test_a_running_clouds_unusable_local_json_is_a_clear_error(tmp_path, fake_up, broken):
    write(tmp_path, broken, fake_up)
    with pytest.raises(NcapError, match="restart the local cloud"):
        state.running_cloud("ncap-x", tmp_path, tmp_path)


def test_invoke_with_a_broken_local_json_says_so_in_one_line(tmp_path, fake_up):
    template = tmp_path / "t.json"
    template.write_text(json.dumps({"Resources": {"PipelineBucket": {"Properties": {"BucketName": "ncap-x"}}}}))
    write(tmp_path / "state", {**GOOD, "functions": {"SubmitFunction": "x"}}, fake_up)
    invoked = ncap("invoke", "SubmitFunction", "--template", str(template), "--local-state", str(tmp_path / "state"))
    assert invoked.returncode == 1 and "Traceback" not in invoked.stderr
    assert "restart the local cloud" in invoked.stderr and len(invoked.stderr.strip().splitlines()) == 1
