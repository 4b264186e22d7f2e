"""`ncap worker` as real processes: SIGTERM within and after the grace period, SIGKILL and the
heartbeat, --idle-exit, --max-jobs, --concurrency, and clean start-up errors."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import LAB, NCAP, WRITE_RESULT, WorkerProcess, cloud, results_prefix, wait_until  # noqa: F401


def py(script: str) -> str:
    return f"python3 -c {json.dumps(script)}"


def slow_job(marks, seconds, child=False):
    """Appends a line to `marks` when it starts (and starts a child `sleep` if asked, whose pid it
    writes), sleeps `seconds`, then writes result.txt."""
    spawn = (f"import subprocess; p = subprocess.Popen(['sleep', '{seconds}']); "
             f"open({str(marks)!r} + '.child', 'w').write(str(p.pid)); ") if child else ""
    return py(f"import os, time, pathlib; {spawn}"
              f"open({str(marks)!r}, 'a').write(os.environ['NCAP_DATANAME'] + chr(10)); "
              f"time.sleep({seconds}); "
              "(pathlib.Path(os.environ['NCAP_OUTPUT_DIR']) / 'result.txt').write_text('ok')")


def started(marks) -> list[str]:
    return marks.read_text().splitlines() if marks.exists() else []


def worker(cloud, tmp_path, command, name="worker", **options):
    return WorkerProcess(cloud.worker_args(command, tmp_path / f"{name}-work", **options),
                         tmp_path / f"{name}.log")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_sigterm_lets_the_running_job_finish_within_the_grace_period(cloud, tmp_path):
    cloud.submit("j1")
    marks = tmp_path / "marks"
    agent = worker(cloud, tmp_path, slow_job(marks, 2), grace=60)
    try:
        wait_until(lambda: started(marks), what="the job started")
        agent.process.send_signal(signal.SIGTERM)
        assert agent.wait() == 0
    finally:
        agent.stop()
    assert cloud.status("j1")["status"] == "SUCCESS" and cloud.counts() == (0, 0)
    assert agent.wait_for("stopping")["why"] == "SIGTERM"
    assert [line["outcome"] for line in agent.decisions() if line["decision"] == "job"] == ["success"]


def test_sigterm_after_the_grace_period_kills_the_job_and_queues_it_again(cloud, tmp_path):
    cloud.submit("j1")
    marks = tmp_path / "marks"
    agent = worker(cloud, tmp_path, slow_job(marks, 120, child=True), grace=1)
    try:
        wait_until(lambda: started(marks) and (tmp_path / "marks.child").exists(), what="the job started")
        agent.process.send_signal(signal.SIGTERM)
        assert agent.wait() == 0
    finally:
        agent.stop()
    assert cloud.counts() == (1, 0), "visible again at once"
    assert [line["outcome"] for line in agent.decisions() if line["decision"] == "job"] == ["requeued"]
    assert cloud.status("j1")["status"] == "RUNNING"
    wait_until(lambda: not alive(int((tmp_path / "marks.child").read_text())), 10, what="the job's child is gone")
    again = cloud.receive()
    assert again.receive_count == 1, "an interruption is not a failed receive"


def test_a_killed_workers_job_is_taken_over_after_the_heartbeat_step(cloud, tmp_path):
    cloud.submit("j1")
    marks = tmp_path / "marks"
    first = worker(cloud, tmp_path, slow_job(marks, 2), name="first", heartbeat=2)
    try:
        wait_until(lambda: started(marks), what="the job started")
        first.process.kill()
        first.wait()
    finally:
        first.stop()
    second = worker(cloud, tmp_path, slow_job(marks, 0.2), name="second", heartbeat=2, max_jobs=1)
    try:
        assert second.wait(timeout=60) == 0
    finally:
        second.stop()
    status = cloud.status("j1")
    assert status["status"] == "SUCCESS" and status["datasets"][f"{LAB}/inputs/j1.csv"]["attempt"] == 2
    assert len(started(marks)) == 2 and cloud.counts() == (0, 0)
    assert set(cloud.versions(results_prefix("j1")).values()) == {1}


def test_the_heartbeat_keeps_a_long_job_from_a_second_worker(cloud, tmp_path):
    cloud.submit("j1")
    marks = tmp_path / "marks"
    agents = [worker(cloud, tmp_path, slow_job(marks, 5), name=f"w{n}", heartbeat=3) for n in range(2)]
    try:
        wait_until(lambda: cloud.counts() == (0, 0) and started(marks), timeout=60, what="the job done")
        for agent in agents:
            agent.wait_for("started")
            agent.process.send_signal(signal.SIGTERM)
        assert [agent.wait() for agent in agents] == [0, 0]
    finally:
        for agent in agents:
            agent.stop()
    assert len(started(marks)) == 1, "only one worker ran it, though it ran for two heartbeat steps"
    assert cloud.status("j1")["status"] == "SUCCESS"
    jobs = [line for agent in agents for line in agent.decisions() if line["decision"] == "job"]
    assert [line["outcome"] for line in jobs] == ["success"]


def test_idle_exit(cloud, tmp_path):
    agent = worker(cloud, tmp_path, "true", idle_exit=1)
    try:
        assert agent.wait() == 0
    finally:
        agent.stop()
    assert agent.wait_for("stopping")["why"] == "idle"


def test_max_jobs(cloud, tmp_path):
    for job_id in ("j1", "j2", "j3"):
        cloud.submit(job_id)
    agent = worker(cloud, tmp_path, WRITE_RESULT, max_jobs=2)
    try:
        assert agent.wait() == 0
    finally:
        agent.stop()
    statuses = sorted(cloud.status(job_id)["status"] for job_id in ("j1", "j2", "j3"))
    assert statuses == ["QUEUED", "SUCCESS", "SUCCESS"] and cloud.counts() == (1, 0)


def test_concurrency_runs_jobs_side_by_side(cloud, tmp_path):
    marks, script = tmp_path / "marks", tmp_path / "both.py"
    script.write_text(f"""import os, pathlib, time
marks = pathlib.Path({str(marks)!r})
with open(marks, "a") as out:
    out.write(os.environ["NCAP_DATANAME"] + "\\n")
deadline = time.time() + 20
while len(marks.read_text().splitlines()) < 2 and time.time() < deadline:
    time.sleep(0.05)
assert len(marks.read_text().splitlines()) == 2, "ran alone"
(pathlib.Path(os.environ["NCAP_OUTPUT_DIR"]) / "result.txt").write_text("ok")
""")
    cloud.submit("j1")
    cloud.submit("j2")
    agent = worker(cloud, tmp_path, f"python3 {script}", concurrency=2, max_jobs=2)
    try:
        assert agent.wait(timeout=60) == 0
    finally:
        agent.stop()
    assert [cloud.status(j)["status"] for j in ("j1", "j2")] == ["SUCCESS", "SUCCESS"]


def test_a_queue_that_does_not_exist_is_a_clean_error(cloud, tmp_path):
    argv = cloud.worker_args("true", tmp_path)
    argv[argv.index("--queue-url") + 1] = cloud.queue + "-gone"
    result = subprocess.run([*NCAP, *argv], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [f"cannot read the queue {cloud.queue}-gone: "
                                          "AWS.SimpleQueueService.NonExistentQueue"]


def test_the_subcommand_loads_nothing_heavy():
    code = ("import argparse, sys; from ncap_iac.worker.commands import register; "
            "p = argparse.ArgumentParser(); register(p.add_subparsers(), argparse.ArgumentParser(add_help=False)); "
            "print(sorted(m for m in sys.modules if m.startswith(('boto', 'ncap_iac.worker.'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "['ncap_iac.worker.commands']", result.stderr


def test_the_worker_command_is_registered():
    result = subprocess.run([*NCAP, "worker", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--queue-url" in result.stdout and "--idle-exit" in result.stdout


def test_a_sigterm_during_start_up_is_kept_and_ends_the_agent(cloud, tmp_path, monkeypatch):
    """In this process: SIGTERM arrives while the agent connects (boto3 is slow to import)."""
    import argparse

    from ncap_iac.worker import agent

    connect = agent.make_clients

    def slow_connect(*args):
        os.kill(os.getpid(), signal.SIGTERM)
        return connect(*args)

    cloud.submit("j1")
    monkeypatch.setattr(agent, "make_clients", slow_connect)
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command")
    from ncap_iac.worker.commands import register

    handler = register(commands, argparse.ArgumentParser(add_help=False))["worker"]
    args = parser.parse_args(cloud.worker_args("touch never", tmp_path))
    saved = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        assert handler(args) == 0
    finally:
        for number, previous in saved.items():
            signal.signal(number, previous)
    assert cloud.status("j1")["status"] == "QUEUED" and cloud.counts() == (1, 0)


def test_options_that_cannot_work_are_clean_errors(tmp_path):
    base = [*NCAP, "worker", "--queue-url", "http://localhost:1/q", "--bucket", "b", "--region", "us-east-1",
            "--job-roles", "arn:aws:iam::123456789012:role/ncap/p/jobs/"]
    taken = tmp_path / "a-file"
    taken.write_text("not a folder")
    cases = {("--command", "run {} {} {} {} {}"): "--command: 5 positional {} slots",
             ("--command", "true", "--log-name", "../x"): "--log-name: '../x' must be a plain file name",
             ("--command", "true", "--heartbeat", "1"): "--heartbeat: must be at least 2, got 1",
             ("--command", "true", "--command-dir", str(tmp_path / "no")): "is not a folder",
             ("--command", "true", "--workdir", str(taken)): f"--workdir: cannot make {taken}: File exists",
             ("--command", "true", "--job-roles", "arn:aws:iam::1:role/x"): "--job-roles: 'arn:aws:iam::1:role/x' is "
                                                                             "not a role ARN prefix",
             ("--command", "true", "--run-as", "no-such-user-here"): "--run-as: no user 'no-such-user-here'",
             ("--command", "true", "--run-as", "root"): "--run-as: 'root' must be another, unprivileged user",
             ("--command", "true", "--run-as", "nobody", "--concurrency", "2"): "--run-as: runs one job at a time",
             ("--command", "true", "--instance-id", "i-1"): "--lifecycle-hook, --launching-hook and --instance-id "
                                                            "need --group",
             ("--command", "true", "--max-interruptions", "-1", "--on-demand-queue-url", "http://localhost:1/od"):
                 "--max-interruptions: must be at least 0, got -1",
             ("--command", "true", "--hourly-prices", "g5.xlarge=cheap"): "--hourly-prices: 'g5.xlarge=cheap' is not "
                                                                          "TYPE=USD or TYPE=USD:SPOT_USD",
             ("--command", "true", "--hourly-prices", "g5.xlarge=nan"): "--hourly-prices: 'g5.xlarge=nan' is not",
             ("--command", "true", "--max-interruptions", "1"): "--max-interruptions needs --on-demand-queue-url",
             ("--command", "true", "--on-demand-queue-url", "http://localhost:1/q.fifo"):
                 "--on-demand-queue-url: must be a FIFO queue when --queue-url is one"}
    for extra, message in cases.items():
        result = subprocess.run([*base, *extra], capture_output=True, text=True, timeout=60)
        assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr
        assert message in result.stderr and result.stdout == ""


@pytest.mark.skipif(os.geteuid() != 0, reason="starting a command as another user needs root (CI runs as root)")
def test_run_as_starts_the_command_as_the_unprivileged_user_in_a_folder_only_it_can_read(cloud):
    """`--run-as nobody`: the command's uid and groups are nobody's (none of root's), its job folder
    is its own and private, the agent's other files are out of its reach, and nothing of it is left
    running after the job."""
    import pwd
    import shutil
    import tempfile

    nobody = pwd.getpwnam("nobody")
    base = Path(tempfile.mkdtemp(prefix="ncap-run-as-"))
    os.chmod(base, 0o711)  # pytest's own folders are root's alone
    try:
        secret = base / "agent-secret.txt"
        secret.write_text("agent only")
        os.chmod(secret, 0o600)
        script = ("import os, pathlib, subprocess; o = pathlib.Path(os.environ['NCAP_OUTPUT_DIR']); "
                  f"blocked = not os.access({str(secret)!r}, os.R_OK); "
                  "here = os.stat(os.getcwd()); "
                  "subprocess.Popen(['sleep', '300'], start_new_session=True); "
                  "(o / 'who.txt').write_text(f'{os.getuid()} {os.getgid()} {sorted(os.getgroups())} {blocked} "
                  "{here.st_uid} {oct(here.st_mode & 0o777)}')")
        process = WorkerProcess(cloud.worker_args(f"/usr/bin/python3 -c {json.dumps(script)}", base / "work",
                                                  run_as="nobody", max_jobs=1), base / "worker.log")
        try:
            cloud.submit("j1")
            assert process.wait(60) == 0, (base / "worker.log").read_text()
        finally:
            process.stop()
        assert cloud.status("j1")["status"] == "SUCCESS"
        ids, blocked, owner, mode = cloud.get(results_prefix("j1") + "who.txt").decode().rsplit(" ", 3)
        uid, gid, groups = ids.split(" ", 2)
        assert (int(uid), int(gid)) == (nobody.pw_uid, nobody.pw_gid) and blocked == "True"
        assert int(owner) == nobody.pw_uid and mode == "0o700"
        assert 0 not in json.loads(groups)
        left = subprocess.run(["pgrep", "-u", "nobody", "-f", "sleep 300"], capture_output=True, text=True)
        assert left.stdout == "", "the job's processes are killed after it"
    finally:
        shutil.rmtree(base, ignore_errors=True)
