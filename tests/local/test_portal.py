"""The lab portal in a real browser (Debian's Chromium, driven by Playwright) against the local
cloud of a pipeline whose labs sign in to a directory: the lab member's journey (sign up, verify
with the emailed code, sign in, ask to join, approved by the lab's admin in the portal too, upload
a 50 MB file with its progress shown, write configs in YAML (one with a syntax error, refused
with its line), submit, watch the job run with its log, download a result and compare its bytes,
see the lab's spend against its budget as `ncap cost report` has it, cancel a long job), what a
member of another lab sees (nothing of it), a forgotten password reset with the emailed code, a
whole folder uploaded, and axe-core's accessibility check of the main pages. Controls are found by
role and accessible name, as a person using a screen reader finds them."""
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from cloud_helpers import NCAP, REPO, clean_env, local_cloud, ncap, pipeline_copy

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = REPO / "portal" / "node_modules" / "axe-core" / "axe.min.js"
PIPELINE = "ncap-portal-journey"
PASSWORD = "Correct-horse1"
LAB_A_BUDGET = 20.0
ANALYSIS = '''\
import json, os, time
from pathlib import Path
path = Path(os.environ["NCAP_CONFIG_PATH"])
if path.suffix in (".yaml", ".yml"):  # this analysis's YAML configs are flat: "key: value" lines
    lines = [line.split(":", 1) for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    config = {key.strip(): json.loads(value) for key, value in lines}
else:
    config = json.loads(path.read_text())
for n in range(int(config.get("lines", 1))):
    print(f"line {n}", flush=True)
    time.sleep(float(config.get("pause", 0)))
value = float(Path(os.environ["NCAP_INPUT_PATH"]).read_text().split()[-1])
(Path(os.environ["NCAP_OUTPUT_DIR"]) / "answer.json").write_text(json.dumps({"value": round(value, 2)}))
'''

pytestmark = pytest.mark.slow


def needs_browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs Debian's (apt-get install chromium)")
    if not AXE.exists():
        pytest.fail(f"no axe-core at {AXE}: `make test` runs npm ci in portal/")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    needs_browser()
    root = tmp_path_factory.mktemp("portal")
    pipeline_copy("lab-directory", root / "lab-directory")

    def journey(document):
        document["PipelineName"] = PIPELINE
        document["Workers"]["Command"] = "python3 analysis/run.py"
        document["Workers"]["JobTimeoutSeconds"] = 900
        document["UXData"]["Affiliates"][0]["MaxCost"] = LAB_A_BUDGET  # lab-a has a budget, lab-b none

    pipeline = pipeline_copy("directory-demo", root / "directory-demo", journey)
    (pipeline / "analysis" / "run.py").write_text(ANALYSIS)
    with local_cloud(pipeline, root / "state", workers=2) as running:
        running.root = root
        yield running


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def mail(cloud, to: str, kind: str) -> str:
    lines = (cloud.state_dir / "mail" / "mail.jsonl").read_text().splitlines()
    return [m for m in map(json.loads, lines) if m["to"] == to and m["kind"] == kind][-1]["body"]


def say(page) -> str:
    return page.locator("#message").inner_text()


def sign_in(page, email: str, password: str) -> None:
    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def member(cloud, email: str, lab: str) -> None:
    """A person signed up and verified with `ncap lab`, then added to `lab` by the platform engineer."""
    settings = str(cloud.state_dir / "directory.json")
    env = {**clean_env(), "XDG_CONFIG_HOME": str(cloud.root / f"cfg-{email}"), "NCAP_PASSWORD": PASSWORD}
    done = subprocess.run([*NCAP, "lab", "signup", "--settings", settings, "--email", email], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    code = mail(cloud, email, "verification").rsplit(" ", 1)[-1]
    subprocess.run([*NCAP, "lab", "verify", "--settings", settings, "--email", email, "--code", code],
                   env=env, cwd=REPO, check=True, capture_output=True, timeout=60)
    cloud.client("cognito-idp").admin_add_user_to_group(UserPoolId=cloud.info["directory"]["user_pool_id"],
                                                        Username=email, GroupName=lab)


def use_lab(page, portal: str, email: str, password: str) -> None:
    page.goto(portal)
    sign_in(page, email, password)
    page.get_by_role("heading", name="Your labs").wait_for()
    page.get_by_label("Pipeline").select_option(PIPELINE)
    page.get_by_role("button", name="Use this lab").click()
    page.get_by_label("Files").wait_for()


def spent_by_report(cloud, lab: str) -> dict:
    done = ncap("cost", "report", str(cloud.pipeline_dir), "--json", "--local-state", str(cloud.state_dir))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["labs"][lab]


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


def axe_violations(page) -> list[tuple[str, str]]:
    """axe-core's serious and critical violations on the page as it is."""
    found = page.evaluate(AXE.read_text() + "\n;axe.run(document).then(r => r.violations.map(v => [v.id, v.impact]))")
    return [tuple(v) for v in found if v[1] in ("serious", "critical")]


def test_a_lab_members_journey_in_the_browser(cloud, browser, tmp_path):
    portal = cloud.info["portal_url"]
    page = browser.new_page(accept_downloads=True)
    errors: list[str] = []
    console: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: console.append(message.text))
    page.goto(portal)
    assert axe_violations(page) == []  # the sign-in page

    # sign up, verify with the emailed code, sign in
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Email").fill("ann@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.get_by_label("Verification code").wait_for()
    page.get_by_label("Verification code").fill(mail(cloud, "ann@example.org", "verification").rsplit(" ", 1)[-1])
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("button", name="Sign in").wait_for()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Your labs").wait_for()
    page.get_by_label("Request membership of").select_option("lab-a")
    page.get_by_role("button", name="Ask to join").click()
    wait_for(lambda: "an admin approves it" in say(page), 10, "the request to join")

    # the lab's admin (invited when the directory was made) approves, in the portal too
    admin = browser.new_page()
    admin.goto(portal)
    temporary = mail(cloud, "pi-a@example.org", "invitation").split("temporary password ")[1].split(";")[0]
    sign_in(admin, "pi-a@example.org", temporary)
    admin.get_by_label("New password").fill("Admin-horse-2")
    admin.get_by_role("button", name="Set password").click()
    admin.get_by_role("link", name="Members of lab-a").click()
    admin.get_by_role("button", name="Approve ann@example.org").click()
    wait_for(lambda: "ann@example.org: member" in say(admin), 10, "the approval")
    admin.close()

    # choose the lab and pipeline, upload 50 MB and a dataset, with progress
    page.reload()
    page.get_by_label("Lab").select_option("lab-a")
    page.get_by_label("Pipeline").select_option(PIPELINE)
    page.get_by_role("button", name="Use this lab").click()
    page.get_by_label("Files").wait_for()
    assert axe_violations(page) == []  # the upload page
    big = tmp_path / "recording.bin"
    with open(big, "wb") as out:
        for block in range(50):
            out.write(hashlib.sha256(str(block).encode()).digest() * 31250)  # 1,000,000 bytes each
    data = tmp_path / "x.csv"
    data.write_text("v\n1.23456789\n")
    page.get_by_label("Files").set_input_files([str(big), str(data)])
    page.get_by_role("button", name="Upload").click()
    seen: list[float] = []
    wait_for(lambda: seen.append(float(page.locator("#overall").get_attribute("value") or 0)) or
             "Uploaded 2 file(s)." in say(page), 120, f"the upload ({say(page)})")
    assert any(0 < value < 1 for value in seen), seen  # the overall progress moved before the end
    stored = cloud.client("s3").get_object(Bucket=cloud.bucket, Key="lab-a/inputs/recording.bin")["Body"].read()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(big.read_bytes()).digest()

    def config(name: str, text: str) -> None:
        page.get_by_role("link", name="Upload").click()
        page.get_by_label("Config name").fill(name)
        page.get_by_label("Config text").fill(text)
        page.get_by_role("button", name="Save config").click()
        wait_for(lambda: f"Uploaded lab-a/configs/{name}." in say(page), 20, f"the config ({say(page)})")

    def stored(key: str) -> bytes:
        return cloud.client("s3").get_object(Bucket=cloud.bucket, Key=key)["Body"].read()

    # a config written in YAML is checked first: a syntax error is named by its line, nothing is saved
    page.get_by_label("Config name").fill("broken.yaml")
    page.get_by_label("Config text").fill("# the slow job\nlines: 60\n  pause: 0.2\n")
    page.get_by_role("button", name="Save config").click()
    wait_for(lambda: "syntax error on line 3" in say(page), 20, f"the syntax error ({say(page)})")
    assert "Nothing was uploaded" in say(page) and page.get_by_label("Config text").get_attribute("aria-invalid") == "true"
    listed = cloud.client("s3").list_objects_v2(Bucket=cloud.bucket, Prefix="lab-a/configs/").get("Contents", [])
    assert [o["Key"] for o in listed] == ["lab-a/configs/"]  # the folder's marker, made with the stack
    page.get_by_label("Config name").fill("settings.txt")
    page.get_by_role("button", name="Save config").click()
    wait_for(lambda: "ends in neither" in say(page), 20, "a name that is neither .yaml nor .json")

    def submit(name: str) -> str:
        page.get_by_role("link", name="Submit").click()
        page.get_by_label("Datasets").select_option("lab-a/inputs/x.csv")
        page.get_by_label("Config").select_option(f"lab-a/configs/{name}")
        page.get_by_role("button", name="Submit").click()
        return wait_for(lambda: page.get_by_label("Job id").inner_text().strip(), 20, "the job id")

    # a job with a YAML config (saved as written, the analysis reads it): RUNNING with its log
    # before the end, then SUCCESS; its result downloaded
    slow = "# the slow job\nlines: 60\npause: 0.2\n"
    config("slow.yaml", slow)
    assert stored("lab-a/configs/slow.yaml") == slow.encode()
    job = submit("slow.yaml")
    assert say(page) == f"Submitted job {job}."
    page.get_by_role("link", name=job).click()
    wait_for(lambda: say(page) == "", 10, "a page the person opens starting without the last page's message")
    status = page.get_by_role("status")
    wait_for(lambda: status.inner_text() == "RUNNING" and "line 0" in page.get_by_label("Log").inner_text(), 90,
             f"RUNNING with log lines (status {status.inner_text()!r}, log {page.get_by_label('Log').inner_text()[-200:]!r}, "
             f"message {say(page)!r}, console {console[-5:]})")
    assert axe_violations(page) == []  # the job page
    wait_for(lambda: status.inner_text() == "SUCCESS", 90, f"SUCCESS (status {status.inner_text()})")
    wait_for(lambda: "line 59" in page.get_by_label("Log").inner_text(), 20, "the 60 lines the YAML config asked for")
    page.get_by_role("link", name=f"Results of {job}").click()
    assert axe_violations(page) == []  # the results page
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").first.click()
    fetched = Path(download.value.path()).read_bytes()
    answer = cloud.client("s3").get_object(
        Bucket=cloud.bucket, Key=f"lab-a/results/job_{job}/process_results/answer.json")["Body"].read()
    assert fetched == answer and json.loads(fetched) == {"value": 1.23}
    page.get_by_role("link", name="Jobs").click()
    page.get_by_role("link", name=job).wait_for()
    assert axe_violations(page) == []  # the jobs page

    # the lab's spend this month against its budget: what `ncap cost report` says, once the job's
    # ledger entry is written (the worker writes it after the job's end)
    wait_for(lambda: spent_by_report(cloud, "lab-a")["spent_usd"] > 0, 60, "the job's ledger entry")
    reported = spent_by_report(cloud, "lab-a")
    page.get_by_role("link", name="Spend").click()
    page.get_by_role("heading", name="Spend of lab-a").wait_for()
    shown = float(page.locator("#spent").get_attribute("value"))
    assert shown > 0 and shown == pytest.approx(reported["spent_usd"], rel=1e-9, abs=0), (shown, reported)
    assert reported["budget_usd"] == LAB_A_BUDGET and float(page.locator("#budget").get_attribute("value")) == LAB_A_BUDGET
    assert float(page.locator("#left").get_attribute("value")) == pytest.approx(LAB_A_BUDGET - reported["spent_usd"])
    assert page.get_by_role("row", name="Jobs").inner_text().split() == ["Jobs", str(reported["jobs"])]
    assert reported["jobs"] == 1 and page.get_by_role("row", name="Spent").inner_text().split()[-1].startswith("$")
    assert axe_violations(page) == []  # the spend page

    # a long job, its config written in YAML under a .json name: saved as JSON
    config("long.json", "lines: 3000\npause: 0.2\n")
    assert "saved as JSON" in say(page) and json.loads(stored("lab-a/configs/long.json")) == {"lines": 3000, "pause": 0.2}
    long_job = submit("long.json")
    page.get_by_role("link", name=long_job).click()
    wait_for(lambda: status.inner_text() == "RUNNING", 90, "the long job running")
    asked = time.monotonic()
    page.get_by_role("button", name="Cancel job").click()
    wait_for(lambda: status.inner_text() == "CANCELLED", 30, "CANCELLED")
    assert time.monotonic() - asked < 15
    assert errors == []
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()


def test_a_member_of_another_lab_sees_nothing_of_lab_a(cloud, browser):
    settings = str(cloud.state_dir / "directory.json")
    env = {**clean_env(), "XDG_CONFIG_HOME": str(cloud.root / "cfg-pi-b"), "NCAP_NEW_PASSWORD": "Admin-horse-3",
           "NCAP_PASSWORD": mail(cloud, "pi-b@example.org", "invitation").split("temporary password ")[1].split(";")[0]}
    done = subprocess.run([*NCAP, "lab", "login", "--settings", settings, "--email", "pi-b@example.org"], env=env,
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    page = browser.new_page()
    page.goto(cloud.info["portal_url"])
    sign_in(page, "pi-b@example.org", "Admin-horse-3")
    page.get_by_role("heading", name="Your labs").wait_for()
    labs = page.get_by_label("Lab")
    assert labs.locator("option").all_inner_texts() == ["lab-b"]
    page.get_by_label("Pipeline").select_option(PIPELINE)
    page.get_by_role("button", name="Use this lab").click()
    page.get_by_role("link", name="Jobs").click()
    page.get_by_role("heading", name="Jobs of lab-b").wait_for()
    assert "No jobs yet" in page.locator("main").inner_text()
    page.get_by_role("link", name="Spend").click()
    page.get_by_role("heading", name="Spend of lab-b").wait_for()
    assert page.get_by_role("row", name="Budget").inner_text().split("\t")[-1].strip() == "no budget"
    assert float(page.locator("#spent").get_attribute("value")) == 0
    assert page.get_by_role("row", name="Jobs").inner_text().split() == ["Jobs", "0"]
    # asking for lab-a by hand: the directory refuses the credentials, nothing of lab-a is shown
    page.evaluate("sessionStorage.setItem('ncap-lab', 'lab-a')")
    page.reload()
    wait_for(lambda: "not a member of lab-a" in say(page), 20, "the refusal")
    assert "Jobs of lab-a" not in page.locator("main").inner_text()
    assert os.path.exists(settings)


def test_an_upload_paused_then_reloaded_sends_only_the_rest(cloud, browser, tmp_path):
    """A large upload paused half way and the page reloaded: uploading the same file again sends
    only the parts S3 lacks (the upload's id kept in the browser), and the object is whole."""
    member(cloud, "carol@example.org", "lab-a")
    page = browser.new_page()
    use_lab(page, cloud.info["portal_url"], "carol@example.org", PASSWORD)
    big = tmp_path / "session.bin"
    with open(big, "wb") as out:
        for block in range(64):
            out.write(hashlib.sha256(f"carol {block}".encode()).digest() * 32768)  # 1 MiB each, 8 parts
    page.get_by_label("Files").set_input_files([str(big)])
    page.get_by_role("button", name="Upload", exact=True).click()
    wait_for(lambda: float(page.locator("#overall").get_attribute("value") or 0) > 0.3, 60, "a third uploaded")
    page.get_by_role("button", name="Pause").click()
    page.reload()
    page.get_by_role("link", name="Upload").click()
    page.get_by_label("Files").set_input_files([str(big)])
    page.get_by_role("button", name="Upload", exact=True).click()
    wait_for(lambda: "Uploaded 1 file(s)." in say(page), 120, f"the resumed upload ({say(page)})")
    resumed = page.locator("#progress").inner_text()
    assert "parts were there" in resumed, resumed
    stored = cloud.client("s3").get_object(Bucket=cloud.bucket, Key="lab-a/inputs/session.bin")["Body"].read()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(big.read_bytes()).digest()


def test_a_forgotten_password_is_reset_with_the_emailed_code(cloud, browser):
    """Forgot your password: a code is emailed, a wrong one is refused, the right one sets the new
    password, which signs in; the old one no longer does."""
    member(cloud, "dave@example.org", "lab-a")
    page = browser.new_page()
    page.goto(cloud.info["portal_url"])
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_role("heading", name="Forgot your password?").wait_for()
    assert axe_violations(page) == []  # the forgot-password page
    page.get_by_label("Email").fill("dave@example.org")
    page.get_by_role("button", name="Reset password").click()
    wait_for(lambda: "a code was sent to it" in say(page), 20, f"the code sent ({say(page)})")
    code = mail(cloud, "dave@example.org", "password-reset").rsplit(" ", 1)[-1]
    assert len(code) == 6 and code.isdigit()
    wrong = "000000" if code != "000000" else "111111"
    page.get_by_label("Verification code").fill(wrong)
    page.get_by_label("New password").fill("Battery-staple-9")
    page.get_by_role("button", name="Reset password").click()
    wait_for(lambda: "That code is not the one sent" in say(page), 20, f"the wrong code refused ({say(page)})")
    page.get_by_label("Verification code").fill(code)
    page.get_by_role("button", name="Reset password").click()
    wait_for(lambda: "Your password is changed" in say(page), 20, f"the new password set ({say(page)})")
    page.get_by_role("button", name="Sign in").wait_for()
    assert page.get_by_label("Email").input_value() == "dave@example.org"
    sign_in(page, "dave@example.org", PASSWORD)  # the old password
    wait_for(lambda: "Wrong email or password." in say(page), 20, f"the old password refused ({say(page)})")
    page.get_by_label("Password").fill("Battery-staple-9")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Your labs").wait_for()
    assert "Signed in as dave@example.org." in say(page)


def test_a_whole_folder_arrives_with_its_paths_and_bytes(cloud, browser, tmp_path):
    """A folder chosen with the Folder input (nested folders, a file large enough to go in parts):
    every file is in the lab's inputs under the same relative path, with the same bytes."""
    member(cloud, "erin@example.org", "lab-a")
    folder = tmp_path / "session-7"
    files = {"notes.txt": b"trial notes\n", "day 1/a.csv": b"v\n1\n2\n", "day 1/probe/b.csv": b"v\n3\n",
             "day 2/empty.dat": b"",
             "day 2/video.bin": b"".join(hashlib.sha256(str(n).encode()).digest() for n in range(300_000))}  # 9.6 MB
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    page = browser.new_page()
    use_lab(page, cloud.info["portal_url"], "erin@example.org", PASSWORD)
    page.get_by_label("Folder").set_input_files(str(folder))
    page.get_by_role("button", name="Upload", exact=True).click()
    wait_for(lambda: f"Uploaded {len(files)} file(s)." in say(page), 120, f"the folder ({say(page)})")
    s3 = cloud.client("s3")
    listed = s3.list_objects_v2(Bucket=cloud.bucket, Prefix="lab-a/inputs/session-7/")["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(f"lab-a/inputs/session-7/{name}" for name in files)
    for name, data in files.items():
        body = s3.get_object(Bucket=cloud.bucket, Key=f"lab-a/inputs/session-7/{name}")["Body"].read()
        assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest(), name
