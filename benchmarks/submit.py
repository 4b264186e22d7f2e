#!/usr/bin/env python3
"""The submit handler's own cost, and `ncap invoke` as a whole process.

1. submit_start.handler on valid submissions against moto in-process: median wall time per
   submission, and the part of it NOT spent inside the S3/SQS/SNS calls it makes (measured by
   timing every botocore API call). Target: under 20 ms added per submission.
2. `ncap invoke SubmitFunction` as a whole process against a moto server on localhost, with the
   baseline `python -c pass` run in the same invocation. Target: under 1.5 s.
Usage: python benchmarks/submit.py [--submissions N] [--runs N]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUCKET, LAB = "bench-pipeline", "lab-a"
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")


class CallTimer:
    """Wraps botocore's API call to add up the time spent in AWS calls."""

    def __init__(self):
        import botocore.client

        self.spent, self.calls = 0.0, 0
        original = botocore.client.BaseClient._make_api_call

        def timed(client, operation, params):
            started = time.perf_counter()
            try:
                return original(client, operation, params)
            finally:
                self.spent += time.perf_counter() - started
                self.calls += 1

        botocore.client.BaseClient._make_api_call = timed


def _environment(queue_url: str, topic_arn: str) -> dict:
    return {"BUCKET_NAME": BUCKET, "QUEUE_URL": queue_url, "QUEUE_FIFO": "false", "TOPIC_ARN": topic_arn,
            "TRIGGER_MODE": "submit", "FILESET_SUFFIXES": "", "INPUTS_FOLDER": "inputs",
            "CONFIGS_FOLDER": "configs", "SUBMISSIONS_FOLDER": "submissions", "RESULTS_FOLDER": "results",
            "LOGS_FOLDER": "logs", "MAX_SUBMIT_BYTES": "262144"}


def handler_figures(submissions: int) -> dict:
    import logging

    import boto3
    from moto import mock_aws

    sys.path.insert(0, str(REPO / "lambda_repo"))
    sys.path.insert(0, str(REPO / "src"))
    from ncap_iac.local.simevents import s3_put

    logging.disable(logging.CRITICAL)  # measure the handler, not the terminal
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        for folder in ("inputs", "configs", "submissions"):  # the folders function's markers
            s3.put_object(Bucket=BUCKET, Key=f"{LAB}/{folder}/", Body=b"")
        queue_url = boto3.client("sqs").create_queue(QueueName="bench-jobs")["QueueUrl"]
        os.environ.update(_environment(queue_url, boto3.client("sns").create_topic(Name="bench")["TopicArn"]))
        s3.put_object(Bucket=BUCKET, Key=f"{LAB}/inputs/data.csv", Body=b"1,2\n")
        s3.put_object(Bucket=BUCKET, Key=f"{LAB}/configs/config.json", Body=b"{}")
        import submit_start

        timer, walls, outside = CallTimer(), [], []
        for index in range(submissions):
            key = f"{LAB}/submissions/run{index}_submit.json"
            s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps({
                "dataname": f"{LAB}/inputs/data.csv", "configname": f"{LAB}/configs/config.json",
                "timestamp": f"run{index}"}).encode())
            timer.spent, timer.calls = 0.0, 0
            started = time.perf_counter()
            result = submit_start.handler(s3_put(BUCKET, key), None)
            wall = time.perf_counter() - started
            assert result["jobs"] == [f"run{index}"], result
            walls.append(wall)
            outside.append(wall - timer.spent)
        calls = timer.calls
    return {"median_ms": 1000 * statistics.median(walls), "p95_ms": 1000 * sorted(walls)[int(0.95 * len(walls))],
            "own_ms": 1000 * statistics.median(outside), "calls": calls}


def invoke_figures(runs: int) -> dict:
    import boto3

    from ncap_iac.emulator.server import endpoint_of, threaded_server

    server = threaded_server()
    endpoint = endpoint_of(server)
    try:
        return _time_invoke(endpoint, runs, boto3)
    finally:
        server.stop()


def _time_invoke(endpoint: str, runs: int, boto3) -> dict:
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint)
    clients = {name: boto3.client(name, endpoint_url=endpoint) for name in ("s3", "sqs", "sns")}
    clients["s3"].create_bucket(Bucket="dlcmonitored1")
    clients["s3"].put_object(Bucket="dlcmonitored1", Key="carcealab2/submissions/", Body=b"")
    clients["sqs"].create_queue(QueueName="dlcmonitored1-jobs")
    clients["sns"].create_topic(Name="dlcmonitored1-notices")
    for key, body in {"carcealab2/inputs/mouse1.mp4": b"v", "carcealab2/configs/config.yaml": b"a: 1"}.items():
        clients["s3"].put_object(Bucket="dlcmonitored1", Key=key, Body=body)
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "compiled_template.json"
        subprocess.run([sys.executable, "-m", "ncap_iac.cli", "compile",
                        str(REPO / "pipelines/ncap-dlc/stack_config.json"), "-o", str(template)],
                       check=True, capture_output=True)
        walls = [_one_invoke(clients["s3"], template, env, index) for index in range(runs)]
    baseline = statistics.median(_wall([sys.executable, "-c", "pass"], env) for _ in range(runs))
    return {"median_s": statistics.median(walls), "max_s": max(walls), "baseline_s": baseline}


def _one_invoke(s3, template: Path, env: dict, index: int) -> float:
    s3.put_object(Bucket="dlcmonitored1", Key="carcealab2/submissions/run1_submit.json", Body=json.dumps(
        {"dataname": "carcealab2/inputs/mouse1.mp4", "configname": "carcealab2/configs/config.yaml",
         "timestamp": f"bench{index}"}).encode())
    return _wall([sys.executable, "-m", "ncap_iac.cli", "invoke", "SubmitFunction", "--template", str(template),
                  "--event", str(REPO / "simevents/s3_put_submit.json"),
                  "--env-vars", str(REPO / "simevents/env_dlcmonitored1.json")], env)


def _wall(argv: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    h = handler_figures(args.submissions)
    print(f"submit handler, {args.submissions} valid submissions, moto in-process:")
    print(f"  median {h['median_ms']:.1f} ms per submission (p95 {h['p95_ms']:.1f} ms), {h['calls']} AWS calls each")
    print(f"  outside AWS calls: median {h['own_ms']:.2f} ms per submission "
          f"({'meets' if h['own_ms'] < 20 else 'MISSES'} the 20 ms target)")
    i = invoke_figures(args.runs)
    print(f"ncap invoke SubmitFunction, whole process against a moto server, {args.runs} runs:")
    print(f"  median {i['median_s']:.3f} s (max {i['max_s']:.3f} s); python -c pass {i['baseline_s']:.3f} s; "
          f"ratio {i['median_s'] / i['baseline_s']:.1f}x ({'meets' if i['median_s'] < 1.5 else 'MISSES'} "
          "the 1.5 s target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
