#!/usr/bin/env python3
"""The local cloud's emulator (`python -m ncap_iac.emulator.server`) against moto's own server
(`python -m moto.server`, the baseline), each as a process on 127.0.0.1, in this invocation.

One boto3 client makes the calls a job makes most: S3 GetObject and PutObject, SQS SendMessage,
ReceiveMessage and DeleteMessage (the queue stays near empty, as the job queue does). Figures: wall
time per request as the client sees it, and the server process's CPU time per request (from
/proc), medians of --repeat rounds; the ratio is emulator / baseline. With --iam, both servers
enforce IAM (as the local cloud's does) and the client is an IAM user with a lab-like policy: object
access under one prefix, listing under that prefix only (a condition), the queue's actions.
Usage: python benchmarks/emulator.py [--requests N] [--repeat R] [--iam]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

SERVERS = {"moto.server (baseline)": ["moto.server", "-H", "127.0.0.1", "-p"],
           "ncap_iac.emulator.server": ["ncap_iac.emulator.server", "--host", "127.0.0.1", "--port"]}
TICK = os.sysconf("SC_CLK_TCK")
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
os.environ.pop("AWS_PROFILE", None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def start(command: list, log) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", *command, str(port)],
                               stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    endpoint = f"http://localhost:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).read()
            return process, endpoint
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{command[0]} did not answer within 30 s")


def lab_like_policy(queue_arn: str) -> str:
    bucket = "arn:aws:s3:::bench-emulator"
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket,
         "Condition": {"StringLike": {"s3:prefix": ["lab/", "lab/*"]}}},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"{bucket}/lab/*"},
        {"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"],
         "Resource": queue_arn}]})


def enforce_iam(endpoint: str, queue_url: str) -> dict:
    """An IAM user with the lab-like policy, then IAM enforced: the user's client settings."""
    import boto3

    iam, sqs = boto3.client("iam", endpoint_url=endpoint), boto3.client("sqs", endpoint_url=endpoint)
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    iam.create_user(UserName="bench-lab-user")
    iam.put_user_policy(UserName="bench-lab-user", PolicyName="lab", PolicyDocument=lab_like_policy(arn))
    key = iam.create_access_key(UserName="bench-lab-user")["AccessKey"]
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                                  headers={"Content-Type": "text/plain"})).read()
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def one_round(endpoint: str, pid: int, requests: int, iam: bool = False) -> tuple[float, float]:
    """(wall ms, server CPU ms) per request over `requests` requests (in groups of five)."""
    import boto3

    s3, sqs = boto3.client("s3", endpoint_url=endpoint), boto3.client("sqs", endpoint_url=endpoint)
    s3.create_bucket(Bucket="bench-emulator")
    queue = sqs.create_queue(QueueName="bench-emulator")["QueueUrl"]
    if iam:
        user = enforce_iam(endpoint, queue)
        s3, sqs = (boto3.client(name, endpoint_url=endpoint, **user) for name in ("s3", "sqs"))
    body = b"x" * 1024

    def job_like_calls():
        s3.put_object(Bucket="bench-emulator", Key="lab/status.json", Body=body)
        s3.get_object(Bucket="bench-emulator", Key="lab/status.json")["Body"].read()
        sqs.send_message(QueueUrl=queue, MessageBody="job")
        message = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])

    for _ in range(10):
        job_like_calls()  # connections, first-use imports in the server
    groups = max(1, requests // 5)
    cpu, started = cpu_seconds(pid), time.perf_counter()
    for _ in range(groups):
        job_like_calls()
    wall, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu
    return 1000 * wall / (5 * groups), 1000 * cpu / (5 * groups)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per round (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per server, interleaved (default 3)")
    parser.add_argument("--iam", action="store_true", help="enforce IAM; the client is a lab-like IAM user")
    args = parser.parse_args()
    results = {name: [] for name in SERVERS}
    with tempfile.TemporaryDirectory(prefix="ncap-bench-emulator-") as tmp:
        for _ in range(args.repeat):
            for name, module in SERVERS.items():
                with open(Path(tmp, "server.log"), "ab") as log:
                    process, endpoint = start(module, log)
                    try:
                        results[name].append(one_round(endpoint, process.pid, args.requests, args.iam))
                    finally:
                        process.terminate()
                        process.wait(timeout=10)
    print(f"{args.requests} requests per round (S3 put/get, SQS send/receive/delete), one client"
          f"{' (an IAM user, IAM enforced)' if args.iam else ''}, {os.cpu_count()} CPUs, "
          f"medians of {args.repeat} rounds")
    print("server                      wall ms/request  server CPU ms/request")
    medians = {name: (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
               for name, runs in results.items()}
    for name, (wall, cpu) in medians.items():
        print(f"{name:26s}  {wall:15.2f}  {cpu:21.2f}")
    (base_wall, base_cpu), (wall, cpu) = medians.values()
    print(f"emulator / baseline: wall {wall / base_wall:.2f}x, server CPU {cpu / base_cpu:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
