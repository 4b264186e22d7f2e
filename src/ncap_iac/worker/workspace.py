"""A job's fresh working folder: inputs/ (the datasets), config/ (the config, if any), output/
(everything the command writes there is uploaded) and the log file, owned by the user the command
runs as; and the command's environment, which tells the command where they are and where its
credentials come from, and holds none of the agent's own."""
from __future__ import annotations

import os
import queue
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .placeholders import FIELDS
from .storage import download, download_folder, local_names

PARALLEL_DOWNLOADS = 8  # downloads at once, over all the agent's jobs


@dataclass
class Workspace:
    root: Path
    log: Path
    inputs: list[Path] = field(default_factory=list)
    config: Path | None = None

    @property
    def input_dir(self) -> Path:
        return self.root / "inputs"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"


def create(workdir: Path, log_name: str, user: str | None = None) -> Workspace:
    """The job's folder and its subfolders (the command's own, when it runs as `user`), and the
    log beside it in the agent's folder, out of the command's reach: the command writes the log
    through its output stream only, so that what the agent uploads as the log is the log."""
    root = Path(tempfile.mkdtemp(prefix="job-", dir=workdir))
    for name in ("inputs", "config", "output"):
        (root / name).mkdir()
    space = Workspace(root=root, log=workdir / f"{root.name}-{log_name}")
    space.log.touch(mode=0o600)
    if user is not None:
        hand_over(space, user)
    return space


def hand_over(space: Workspace, user: str) -> None:
    """The job's folders to `user` (the downloads the agent writes into them stay readable)."""
    import pwd

    entry = pwd.getpwnam(user)
    for folder in (space.root, space.input_dir, space.root / "config", space.output_dir):
        os.chown(folder, entry.pw_uid, entry.pw_gid)


def plan(task, space: Workspace) -> list[tuple[str, Path]]:
    """(key, local path) of every download; sets the workspace's input and config paths. A later
    stage's inputs (the folder the previous stage stored) are fetched apart: see Fetch."""
    space.inputs = [] if task.input_prefix else [space.input_dir / name for name in local_names(task.datanames)]
    pairs = list(zip(task.datanames, space.inputs))
    if task.configname:
        space.config = space.root / "config" / task.configname.rsplit("/", 1)[-1]
        pairs.append((task.configname, space.config))
    return pairs


class Fetch:
    """The datasets into inputs/ and the config into config/, downloaded side by side (threads of
    one pool per process, reused from job to job) while the agent reads and updates the status;
    cancelled if the job will not run."""

    def __init__(self, s3, task, space: Workspace):
        self.cancelled = threading.Event()
        self._futures = [downloads().submit(download, s3, task.bucket, key, path, self.cancelled,
                                            task.version_of(key))
                         for key, path in plan(task, space)]
        if task.input_prefix:
            self._futures.append(downloads().submit(download_folder, s3, task.bucket, task.input_prefix,
                                                    space.input_dir, self.cancelled))

    def wait(self) -> BaseException | None:
        """Wait for the downloads; the first error that stopped one, or None."""
        errors = [future.exception() for future in self._futures]
        return next((error for error in errors if error is not None), None)

    def cancel(self) -> None:
        self.cancelled.set()
        self.wait()


POOL: list[ThreadPoolExecutor] = []
POOL_LOCK = threading.Lock()


def downloads() -> ThreadPoolExecutor:
    with POOL_LOCK:
        if not POOL:
            POOL.append(ThreadPoolExecutor(max_workers=PARALLEL_DOWNLOADS, thread_name_prefix="fetch"))
        return POOL[0]


class Assume:
    """The job's own session (credentials.py), assumed when its command first asks the endpoint
    for it: a command that makes no AWS call costs no STS call. The role itself is proven before
    the command starts: the agent's own session of it made the downloads."""

    def __init__(self, roles, task):
        from .endpoint import JobCredentials

        self._credentials = JobCredentials(lambda: roles.job_session(task), lazy=True)

    def wait(self) -> BaseException | None:
        return None

    def credentials(self):
        return self._credentials


def values(task) -> dict:
    """The placeholder values: bucket, dataname, resultpath, configname ("" when none)."""
    return dict(zip(FIELDS, (task.bucket, task.dataname, task.output_path, task.configname or "")))


KEPT_AWS = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")  # and AWS_ENDPOINT_URL_<SERVICE>


def command_base(base: dict) -> dict:
    """The agent's environment without its own AWS credentials and settings (keys, profiles,
    credential files and endpoints, role and token files): only region and endpoint remain."""
    return {name: value for name, value in base.items()
            if not name.startswith("AWS_") or name in KEPT_AWS or name.startswith("AWS_ENDPOINT_URL_")}


def environment(task, space: Workspace, credentials_url: str, token: str, region: str,
                base: dict | None = None) -> dict:
    env = command_base(dict(os.environ if base is None else base))
    env.update(AWS_CONTAINER_CREDENTIALS_FULL_URI=credentials_url, AWS_CONTAINER_AUTHORIZATION_TOKEN=token,
               AWS_EC2_METADATA_DISABLED="true", AWS_REGION=region, AWS_DEFAULT_REGION=region)
    first_input = space.input_dir if task.input_prefix else (space.inputs[0] if space.inputs else "")
    env.update(NCAP_BUCKET=task.bucket, NCAP_DATANAME=task.dataname, NCAP_RESULTPATH=task.output_path,
               NCAP_CONFIGNAME=task.configname or "", NCAP_JOB_ID=task.job_id, NCAP_STAGE=task.stage or "",
               NCAP_INPUT_PATH=str(first_input),
               NCAP_INPUT_DIR=str(space.input_dir), NCAP_OUTPUT_DIR=str(space.output_dir),
               NCAP_CONFIG_PATH=str(space.config) if space.config else "")
    return env


class Cleaner:
    """Removes finished job folders in a background thread: deleting a tree costs milliseconds of
    file-system journal time (about 5 ms here on ext4) that the next job should not wait for."""

    def __init__(self):
        self._folders: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def remove(self, folder: Path) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="cleaner", daemon=True)
                self._thread.start()
        self._folders.put(folder)

    def wait(self) -> None:
        """Return once every folder handed over so far is gone."""
        self._folders.join()

    def _run(self) -> None:
        while True:
            path = self._folders.get()
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            self._folders.task_done()


CLEANER = Cleaner()


def remove(space: Workspace | None) -> None:
    """Remove the job's folder and log (in the background; settle() waits for it)."""
    if space is not None:
        CLEANER.remove(space.root)
        CLEANER.remove(space.log)


def settle() -> None:
    CLEANER.wait()
