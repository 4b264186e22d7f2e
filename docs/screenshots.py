#!/usr/bin/env python3
"""Takes the lab portal's screenshots for the docs (docs/images/portal-*.png): a local cloud of
pipelines/directory-demo, a person signed up and let into lab-a with `ncap lab`, then the portal's
pages in Debian's Chromium (Playwright), a job running, then the lab's spend once it has ended.
Usage: python docs/screenshots.py"""
from __future__ import annotations

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
IMAGES = REPO / "docs" / "images"
PASSWORD = "Demo-password-1"


def main() -> int:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="ncap-shots-"))
    for name in ("lab-directory", "directory-demo"):
        shutil.copytree(REPO / "pipelines" / name, work / name,
                        ignore=shutil.ignore_patterns(".ncap", "ncap_functions"))
    (work / "directory-demo" / "analysis" / "summarize.py").write_text(
        "import time\nfor n in range(40):\n    print(f'frame {n}: 12 spikes', flush=True)\n    time.sleep(0.25)\n")
    state = work / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    up = subprocess.Popen([*NCAP, "local", "up", str(work / "directory-demo"), "--workers", "1", "--state-dir",
                           str(state)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        while not (state / "local.json").exists():
            time.sleep(0.2)
        info = json.loads((state / "local.json").read_text())
        def mail(to: str, kind: str) -> str:
            lines = (state / "mail" / "mail.jsonl").read_text().splitlines()
            return [m for m in map(json.loads, lines) if m["to"] == to and m["kind"] == kind][-1]["body"]

        person = {**env, "XDG_CONFIG_HOME": str(work / "ann"), "NCAP_PASSWORD": PASSWORD}
        settings = str(state / "directory.json")
        subprocess.run([*NCAP, "lab", "signup", "--settings", settings, "--email", "ann@example.org"], env=person,
                       check=True, capture_output=True)
        code = mail("ann@example.org", "verification").rsplit(" ", 1)[-1]
        subprocess.run([*NCAP, "lab", "verify", "--settings", settings, "--email", "ann@example.org", "--code", code],
                       env=person, check=True, capture_output=True)
        admin = {**env, "XDG_CONFIG_HOME": str(work / "pi"), "NCAP_NEW_PASSWORD": "Demo-password-2",
                 "NCAP_PASSWORD": mail("pi-a@example.org", "invitation").split("temporary password ")[1].split(";")[0]}
        subprocess.run([*NCAP, "lab", "login", "--settings", settings, "--email", "pi-a@example.org"], env=admin,
                       check=True, capture_output=True)
        subprocess.run([*NCAP, "lab", "invite", "ann@example.org", "--lab", "lab-a"], env=admin, check=True,
                       capture_output=True)
        IMAGES.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                                 args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1100, "height": 700})
            page.goto(info["portal_url"])
            page.get_by_role("link", name="Sign in").first.click()
            page.screenshot(path=str(IMAGES / "portal-signin.png"))
            page.get_by_label("Email").fill("ann@example.org")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name="Your labs").wait_for()
            page.get_by_role("button", name="Use this lab").click()
            page.get_by_label("Files").set_input_files([str(work / "directory-demo" / "sample" / "trial_01.csv")])
            page.get_by_role("button", name="Upload", exact=True).click()
            page.get_by_text("Uploaded 1 file(s).").wait_for()
            page.screenshot(path=str(IMAGES / "portal-upload.png"))
            page.get_by_label("Config text (JSON or YAML)").fill('{"precision": 2}')
            page.get_by_role("button", name="Save config").click()
            page.get_by_role("link", name="Submit").click()
            page.get_by_label("Datasets").select_option("lab-a/inputs/trial_01.csv")
            page.get_by_role("button", name="Submit").click()
            job = page.get_by_label("Job id")
            while not job.inner_text().strip():
                time.sleep(0.2)
            page.get_by_role("link", name=job.inner_text().strip()).click()
            try:
                page.get_by_text("frame 3:").wait_for(timeout=90000)
            except Exception:
                print(page.inner_text("main")[:800])
                raise
            page.screenshot(path=str(IMAGES / "portal-job.png"))
            page.get_by_role("status").get_by_text("SUCCESS", exact=True).wait_for(timeout=90000)
            page.get_by_role("link", name="Spend").click()
            page.locator("#spent").wait_for()
            page.screenshot(path=str(IMAGES / "portal-spend.png"))
            browser.close()
    finally:
        subprocess.run([*NCAP, "local", "down", "--state-dir", str(state)], env=env, capture_output=True)
        up.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {', '.join(sorted(p.name for p in IMAGES.glob('portal-*.png')))} in {IMAGES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
