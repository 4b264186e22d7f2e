#!/usr/bin/env python3
"""A large upload through the lab portal in a real browser (Debian's Chromium, Playwright) to the
local cloud, with the page reloaded half way: the upload is started again on the same file and
sends only the parts S3 lacks. Beside it, in the same run, `ncap lab upload` of the same file by
the same person (its own multipart, resumable, ten parts at once). The local cloud is
directory-demo's, started by `ncap local up` with no workers; the emulator keeps every object in
memory, so the default is one round of 2048 MiB.

Figures: seconds and MB/s of each (the browser's from its first click to "Uploaded", the reload
and the second start included; the command's a whole process), the parts the browser found there
after the reload, and the ratio.
Usage: python benchmarks/portal_upload.py [--mebibytes N]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NCAP = [sys.executable, "-m", "ncap_iac.cli"]
CLEAN = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
PIPELINE = "ncap-directory-demo"
PASSWORD = "Bench-password-1"


def caught(state: Path, to: str, kind: str) -> str:
    found = [json.loads(line) for line in (state / "mail" / "mail.jsonl").read_text().splitlines()]
    return [m for m in found if m["to"] == to and m["kind"] == kind][-1]["body"]


def main() -> int:
    import boto3
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mebibytes", type=int, default=2048, help="the file's size in MiB (default 2048)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ncap-bench-portal-"))
    for name in ("lab-directory", "directory-demo"):
        shutil.copytree(REPO / "pipelines" / name, work / name,
                        ignore=shutil.ignore_patterns(".ncap", "compiled_template.json", "ncap_functions"))
    state = work / "state"
    log = open(work / "up.log", "wb")
    cloud = subprocess.Popen([*NCAP, "local", "up", str(work / "directory-demo"), "--workers", "0", "--state-dir",
                              str(state)], stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=CLEAN)
    try:
        deadline = time.monotonic() + 180
        while not (state / "local.json").exists():
            if cloud.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"ncap local up did not start: see {work / 'up.log'}")
            time.sleep(0.2)
        info = json.loads((state / "local.json").read_text())
        person = {**CLEAN, "XDG_CONFIG_HOME": str(work / "ann"), "XDG_CACHE_HOME": str(work / "cache"),
                  "NCAP_PASSWORD": PASSWORD}
        settings = str(state / "directory.json")
        for argv in (["signup"], ["verify", "--code", None], ["login"]):
            if argv[0] == "verify":
                argv[2] = caught(state, "ann@example.org", "verification").rsplit(" ", 1)[-1]
            subprocess.run([*NCAP, "lab", argv[0], "--settings", settings, "--email", "ann@example.org", *argv[1:]],
                           env=person, cwd=REPO, check=True, capture_output=True)
        admin = info["admin"]
        boto3.client("cognito-idp", endpoint_url=info["endpoint_url"], region_name=info["region"],
                     aws_access_key_id=admin["access_key_id"], aws_secret_access_key=admin["secret_access_key"]
                     ).admin_add_user_to_group(UserPoolId=info["directory"]["user_pool_id"],
                                               Username="ann@example.org", GroupName="lab-a")
        big = work / "recording.bin"
        with open(big, "wb") as out:
            for _ in range(args.mebibytes):
                out.write(os.urandom(1 << 20))
        size = big.stat().st_size

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                                 args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(info["portal_url"])
            page.get_by_role("link", name="Sign in").first.click()
            page.get_by_label("Email").fill("ann@example.org")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name="Your labs").wait_for()
            page.get_by_role("button", name="Use this lab").click()
            page.get_by_label("Files").set_input_files([str(big)])
            started = time.perf_counter()
            page.get_by_role("button", name="Upload", exact=True).click()
            while float(page.locator("#overall").get_attribute("value") or 0) < 0.5:
                time.sleep(0.2)
            page.reload()  # half way: the page, its uploads and its memory are gone
            page.get_by_role("link", name="Upload").click()
            page.get_by_label("Files").set_input_files([str(big)])
            page.get_by_role("button", name="Upload", exact=True).click()
            page.get_by_text("Uploaded 1 file(s).").wait_for(timeout=3_600_000)
            browser_seconds = time.perf_counter() - started
            resumed = page.locator("#progress").inner_text()
            browser.close()
        renamed = work / "recording-cli.bin"
        big.rename(renamed)
        started = time.perf_counter()
        subprocess.run([*NCAP, "lab", "upload", str(renamed), "--lab", "lab-a", "--pipeline", PIPELINE, "--json"],
                       env=person, cwd=REPO, check=True, capture_output=True)
        cli_seconds = time.perf_counter() - started
    finally:
        subprocess.run([*NCAP, "local", "down", "--state-dir", str(state)], cwd=REPO, env=CLEAN, capture_output=True)
        cloud.wait(timeout=120)
        shutil.rmtree(work, ignore_errors=True)
    megabytes = size / 1e6
    print(f"{args.mebibytes} MiB to the local cloud's bucket, one round")
    print(f"portal, reloaded half way   {browser_seconds:8.1f} s  {megabytes / browser_seconds:6.1f} MB/s  "
          f"({resumed.strip()})")
    print(f"ncap lab upload             {cli_seconds:8.1f} s  {megabytes / cli_seconds:6.1f} MB/s")
    print(f"ratio portal / command      {browser_seconds / cli_seconds:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
