"""One function of a compiled template in a Python process of its own, as Lambda gives each
function its own: its environment and its role's credentials are the process's, so that code
which makes boto3 clients whenever it likes (a pipeline developer's post-processing function)
acts with that role alone, whatever other functions run in the process that started it.

The parent writes the function's spec as the first line of the child's stdin, then one event per
line; the child answers each with one line, {"result": ...} or {"error": ...} as Invocation has
them. The function's own output and log lines go to a log file, never into those answers."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path

from .functions import FunctionSpec, Invocation, function_spec, load_for_process

STOP_SECONDS = 5.0


class FunctionProcess:
    """event -> Invocation, run by the function in its own process (one event at a time)."""

    def __init__(self, spec: FunctionSpec, region: str, aws: dict[str, str], log_path: Path):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | aws
        self.spec, self.log_path, self.lock = spec, log_path, threading.Lock()
        with log_path.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=log, env=env, text=True,
                                            start_new_session=True)
        self._send({"spec": {**asdict(spec), "code_dir": str(spec.code_dir)}, "region": region})

    def _send(self, document: dict) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(document) + "\n")
        self.process.stdin.flush()

    def __call__(self, event: dict) -> Invocation:
        with self.lock:
            try:
                self._send(event)
                assert self.process.stdout is not None
                line = self.process.stdout.readline()
            except (BrokenPipeError, OSError):
                line = ""
        if not line:
            return Invocation(error={"errorType": "ProcessExited", "stackTrace": [], "errorMessage":
                                     f"{self.spec.logical_id}'s process exited (code {self.process.poll()}); "
                                     f"see {self.log_path}"})
        reply = json.loads(line)
        return Invocation(result=reply.get("result"), error=reply.get("error"))

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def own_processes(template_path: Path, function_ids: list[str], environments: dict, region: str,
                  as_function) -> dict[str, FunctionProcess]:
    """A FunctionProcess for each of `function_ids`, each with its own role's settings
    (`as_function(function name)`), logging to FUNCTION_ID.log beside the template."""
    found = {}
    for logical_id in sorted(function_ids):
        spec = function_spec(template_path, logical_id, environments)
        found[logical_id] = FunctionProcess(spec, region, as_function(spec.name),
                                            template_path.parent / f"{logical_id}.log")
    return found


def main() -> int:
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the function's prints go to the log with its log lines
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    first = json.loads(sys.stdin.readline())
    spec = FunctionSpec(**{**first["spec"], "code_dir": Path(first["spec"]["code_dir"])})
    handler = load_for_process(spec, first["region"])
    for line in sys.stdin:
        outcome = handler(json.loads(line))
        answers.write(json.dumps({"result": outcome.result, "error": outcome.error}, default=str) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
