"""ncap instance boot: install the worker agent and the pipeline's analysis from the artifact bucket.

Run by each worker instance's user data (its text is embedded there) with the instance's own
python3, 3.9 or later, and nothing else: the standard library only. The instance role's
credentials come from the instance metadata service (IMDSv2), the objects from S3 by a signed GET
(Signature Version 4), so an instance in a private subnet with an S3 gateway endpoint and no
internet boots as well. Each archive's key names its SHA-256, checked before anything is unpacked.

usage: python3 - ROOT REGION BUCKET AGENT_KEY [CODE_KEY]
  ROOT/agent/SHA256/  venv/, holding the agent bundle, and bin/ncap (skipped when present)
  ROOT/code/SHA256/   the pipeline's analysis folder(s), readable by the jobs' user
or, as an image build's test step: python3 - --image-test PARAMETER REGION JOB_USER
  the test's spec read from the SSM parameter; agent, analysis and sample installed into a fresh
  folder; the command run on the sample by the agent's one-job mode (`ncap sample`), as JOB_USER
Without AWS_EC2_METADATA_SERVICE_ENDPOINT the metadata service is EC2's; AWS_ENDPOINT_URL (the
local cloud's emulator) replaces S3's address."""
import datetime
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile

TRIES = 12  # a new instance role's credentials can take a few seconds to reach the metadata service
HINTS = {403: " (S3 answers 403 for a missing object too, to a reader that may not list the bucket:"
                  " was it uploaded by ncap package or ncap deploy?)"}
LAUNCHER = '#!/bin/sh\nexec "$(dirname "$0")/../venv/bin/python" -m ncap_iac.worker "$@"\n'


def say(text):
    print("ncap boot: " + text, flush=True)


def retried(action, what, final=()):
    """action(), tried again for about a minute (a new role's rights take a while to reach every
    service); an HTTP status in `final` ends it at once."""
    for attempt in range(1, TRIES + 1):
        try:
            return action()
        except (OSError, ValueError) as error:
            if attempt == TRIES or isinstance(error, urllib.error.HTTPError) and error.code in final:
                hint = HINTS.get(getattr(error, "code", 0), "")
                raise SystemExit("ncap boot: " + what + " failed: " + str(error) + hint) from None
            time.sleep(min(2 ** attempt / 4, 8))


def metadata_base():
    return os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254").rstrip("/")


def credentials():
    """The instance role's current credentials document, from the metadata service."""
    base = metadata_base()
    ask = urllib.request.Request(base + "/latest/api/token", method="PUT",
                                 headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"})
    token = urllib.request.urlopen(ask, timeout=5).read().decode()

    def read(path):
        request = urllib.request.Request(base + path, headers={"X-aws-ec2-metadata-token": token})
        return urllib.request.urlopen(request, timeout=5).read().decode()

    folder = "/latest/meta-data/iam/security-credentials/"
    role = read(folder).split()[0]
    return json.loads(read(folder + role))


def service_host(service, region):
    return service + "." + region + (".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com")


def object_url(region, bucket, key):
    """(url, host): path-style on an endpoint given in AWS_ENDPOINT_URL, else S3's regional name."""
    path = urllib.parse.quote(key, safe="/-_.~")
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        return endpoint.rstrip("/") + "/" + bucket + "/" + path, urllib.parse.urlsplit(endpoint).netloc
    host = (bucket + "." if "." not in bucket else "") + service_host("s3", region)
    prefix = "" if "." not in bucket else "/" + bucket
    return "https://" + host + prefix + "/" + path, host


def signed_headers(method, url, host, region, keys, now, service="s3", body=None, extra=None):
    """SigV4 headers of a request: S3's body-less GET (payload unsigned), or a body of JSON."""
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = "UNSIGNED-PAYLOAD" if body is None else hashlib.sha256(body).hexdigest()
    headers = dict(extra or {}, **{"host": host, "x-amz-content-sha256": payload, "x-amz-date": stamp})
    if keys.get("Token"):
        headers["x-amz-security-token"] = keys["Token"]
    names = ";".join(sorted(headers))
    canonical = "\n".join([method, urllib.parse.urlsplit(url).path or "/", "",
                           "".join(k + ":" + headers[k] + "\n" for k in sorted(headers)), names, payload])
    scope = day + "/" + region + "/" + service + "/aws4_request"
    text = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + keys["SecretAccessKey"]).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = ("AWS4-HMAC-SHA256 Credential=" + keys["AccessKeyId"] + "/" + scope
                                + ", SignedHeaders=" + names + ", Signature=" + signature)
    del headers["host"]
    return headers


def download(region, bucket, key, target):
    """Fetch s3://bucket/key into `target`; its SHA-256 must be the one the key is named by."""
    expected = key.rsplit("/", 1)[-1].split(".")[0]

    def fetch():
        keys = retried(credentials, "reading the instance role's credentials")
        url, host = object_url(region, bucket, key)
        now = datetime.datetime.now(datetime.timezone.utc)
        request = urllib.request.Request(url, headers=signed_headers("GET", url, host, region, keys, now))
        digest = hashlib.sha256()
        with urllib.request.urlopen(request, timeout=60) as reply, open(target, "wb") as out:
            for chunk in iter(lambda: reply.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        return digest.hexdigest()

    found = retried(fetch, "s3://" + bucket + "/" + key, final=(404,))
    if found != expected:
        raise SystemExit("ncap boot: s3://" + bucket + "/" + key + " has SHA-256 " + found + ", not " + expected)


def unpack(archive, folder):
    """Extract every entry (none may leave `folder`), with 0755 folders and 0644/0755 files."""
    with zipfile.ZipFile(archive) as opened:
        for info in opened.infolist():
            target = os.path.realpath(os.path.join(folder, info.filename))
            if not target.startswith(os.path.realpath(folder) + os.sep):
                raise SystemExit("ncap boot: " + archive + ": entry " + info.filename + " leaves its folder")
            opened.extract(info, folder)
            os.chmod(target, 0o755 if info.external_attr >> 16 & 0o111 else 0o644)
    for here, folders, _ in os.walk(folder):
        for name in folders:
            os.chmod(os.path.join(here, name), 0o755)


def install(root, kind, region, bucket, key, fill):
    """ROOT/KIND/SHA256, made once: downloaded, checked and filled in a scratch folder, then moved
    into place (a folder that exists is complete)."""
    final = os.path.join(root, kind, key.rsplit("/", 1)[-1].split(".")[0])
    if os.path.isdir(final):
        say(kind + " " + os.path.basename(final)[:12] + " is on this image already")
        return final
    started = time.time()
    os.makedirs(os.path.dirname(final), mode=0o755, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=".boot-", dir=os.path.dirname(final))
    try:
        archive = os.path.join(scratch, "archive.zip")
        download(region, bucket, key, archive)
        fill(archive, os.path.join(scratch, "made"))
        os.chmod(os.path.join(scratch, "made"), 0o755)
        try:
            os.rename(os.path.join(scratch, "made"), final)
        except OSError:
            if not os.path.isdir(final):  # not another boot that got there first
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    say(kind + " " + os.path.basename(final)[:12] + " installed from s3://" + bucket + "/" + key
        + " in " + str(round(time.time() - started, 2)) + " s")
    return final


def make_agent(archive, folder):
    """venv/: a venv of this python3 (no pip needed) with the bundle in its site-packages; bin/ncap,
    alone in its folder, so that putting it on PATH hides no python3 of the image's."""
    venv = os.path.join(folder, "venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = os.path.join(venv, "bin", "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    unpack(archive, site)
    os.makedirs(os.path.join(folder, "bin"), mode=0o755)
    launcher = os.path.join(folder, "bin", "ncap")
    with open(launcher, "w") as out:
        out.write(LAUNCHER)
    os.chmod(launcher, 0o755)


def make_code(archive, folder):
    os.makedirs(folder, mode=0o755)
    unpack(archive, folder)


def test_spec(parameter, region):
    """The image test's spec: the SSM parameter's value (JSON), read with the instance's role."""
    def fetch():
        keys = retried(credentials, "reading the instance role's credentials")
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        url = endpoint.rstrip("/") + "/" if endpoint else "https://" + service_host("ssm", region) + "/"
        body = json.dumps({"Name": parameter}).encode()
        extra = {"content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM.GetParameter"}
        headers = signed_headers("POST", url, urllib.parse.urlsplit(url).netloc, region, keys,
                                 datetime.datetime.now(datetime.timezone.utc), "ssm", body, extra)
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(json.loads(reply.read().decode())["Parameter"]["Value"])

    return retried(fetch, "reading the image test's parameter " + parameter)


def image_test(parameter, region, user):
    """Install what the spec names into a fresh folder, then run the sample as a job would."""
    spec = test_spec(parameter, region)
    root = tempfile.mkdtemp(prefix="ncap-image-test-")
    os.chmod(root, 0o755)
    agent = install(root, "agent", region, spec["bucket"], spec["agent"], make_agent)
    sample = install(root, "sample", region, spec["bucket"], spec["sample"], make_code)
    argv = [os.path.join(agent, "bin", "ncap"), "sample", os.path.join(sample, "sample"), "--command", spec["command"],
            "--job-timeout", str(spec["job_timeout"]), "--run-as", user, "--out", os.path.join(root, "output")]
    if spec.get("code"):
        argv += ["--command-dir", install(root, "code", region, spec["bucket"], spec["code"], make_code)]
    if spec.get("one_dataset"):
        argv.append("--one-dataset")
    say("running the command on the sample: " + " ".join(argv[1:3]))
    raise SystemExit(subprocess.run(argv).returncode)


def main(argv):
    if len(argv) == 4 and argv[0] == "--image-test":
        return image_test(*argv[1:])
    if len(argv) not in (4, 5):
        raise SystemExit("usage: python3 - ROOT REGION BUCKET AGENT_KEY [CODE_KEY]")
    root, region, bucket, agent = argv[:4]
    install(root, "agent", region, bucket, agent, make_agent)
    if len(argv) == 5 and argv[4]:
        install(root, "code", region, bucket, argv[4], make_code)


if __name__ == "__main__":
    main(sys.argv[1:])
