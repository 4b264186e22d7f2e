"""A hostile analysis (run as lab-a's job by tests/local/test_hostile.py): with whatever credentials
its environment gives it, it tries to reach what is not its own, and records each attempt's
outcome in attempts.json in its output folder. Arguments: the other lab, the job queue's name (its
URL guessed as an attacker would), a lab user whose secret and keys it goes after."""
import json
import os
import sys
from pathlib import Path

import boto3
from botocore.exceptions import ClientError


def attempt(name, call):
    try:
        call()
        return name, "allowed"
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        return name, "denied" if code in ("AccessDenied", "403", "AccessDeniedException", "AuthorizationError",
                                          "AuthFailure", "UnauthorizedOperation") else f"error {code}"


def main(other_lab, queue_name, user):
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    account = boto3.client("sts").get_caller_identity()["Account"]
    queue_url = f"{os.environ.get('AWS_ENDPOINT_URL', 'https://sqs.us-east-1.amazonaws.com')}/{account}/{queue_name}"
    bucket, dataname, own = os.environ["NCAP_BUCKET"], os.environ["NCAP_DATANAME"], os.environ["NCAP_RESULTPATH"]
    lab = dataname.split("/", 1)[0]
    secret = f"ncap/{bucket}/keys/{user}"
    put = lambda key: lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    attempts = [
        attempt("read its own input", lambda: s3.get_object(Bucket=bucket, Key=dataname)["Body"].read()),
        attempt("write into its own job's folder", put(own + "allowed.txt")),
        attempt(f"read {other_lab}'s input", lambda: s3.get_object(Bucket=bucket, Key=f"{other_lab}/inputs/secret.csv")),
        attempt(f"list {other_lab}'s folder", lambda: s3.list_objects_v2(Bucket=bucket, Prefix=f"{other_lab}/")),
        attempt("list the whole bucket", lambda: s3.list_objects_v2(Bucket=bucket)),
        attempt(f"write {other_lab}'s results", put(f"{other_lab}/results/job_x/process_results/evil.txt")),
        attempt("write its lab's results outside its job", put(f"{lab}/results/evil.txt")),
        attempt("write another job's folder of its lab", put(f"{lab}/results/job_other/process_results/evil.txt")),
        attempt("write its lab's logs", put(f"{lab}/logs/evil.txt")),
        attempt("write a submission in its lab", put(f"{lab}/submissions/evil_submit.json")),
        attempt(f"write a submission for {other_lab}", put(f"{other_lab}/submissions/results/x_submit.json")),
        attempt("overwrite its own input", put(dataname)),
        attempt("list the queues", lambda: sqs.list_queues()),
        attempt("purge the job queue", lambda: sqs.purge_queue(QueueUrl=queue_url)),
        attempt("read a lab user's secret", lambda: boto3.client("secretsmanager").get_secret_value(SecretId=secret)),
        attempt("create access keys for a lab user", lambda: boto3.client("iam").create_access_key(UserName=user)),
    ]
    who = boto3.client("sts").get_caller_identity()["Arn"]
    leaked = sorted(k for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN") if k in os.environ)
    output = Path(os.environ["NCAP_OUTPUT_DIR"]) / "attempts.json"
    output.write_text(json.dumps({"caller": who, "keys_in_environment": leaked, "attempts": attempts}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
