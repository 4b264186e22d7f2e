"""A job's fresh working folder: inputs/ (the datasets), config/ (the config, if any), output/
(everything the command writes there is uploaded) and the log file; and the command's
environment, which tells the command where they are."""
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
from .storage import download, local_names

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


def create(workdir: Path, log_name: str) -> Workspace:
    root = Path(tempfile.mkdtemp(prefix="job-", dir=workdir))
    for name in ("inputs", "config", "output"):
        (root / name).mkdir()
    space = Workspace(root=root, log=root / log_name)
    space.log.touch()
    return space


def plan(task, space: Workspace) -> list[tuple[str, Path]]:
    """(key, local path) of every download; sets the workspace's input and config paths."""
    space.inputs = [space.input_dir / name for name in local_names(task.datanames)]
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
        self._futures = [downloads().submit(download, s3, task.bucket, key, path, self.cancelled)
                         for key, path in plan(task, space)]

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


def values(task) -> dict:
    """The placeholder values: bucket, dataname, resultpath, configname ("" when none)."""
    return dict(zip(FIELDS, (task.bucket, task.dataname, task.resultpath, task.configname or "")))


def environment(task, space: Workspace, base: dict | None = None) -> dict:
    env = dict(os.environ if base is None else base)
    env.update(NCAP_BUCKET=task.bucket, NCAP_DATANAME=task.dataname, NCAP_RESULTPATH=task.resultpath,
               NCAP_CONFIGNAME=task.configname or "", NCAP_JOB_ID=task.job_id,
               NCAP_INPUT_PATH=str(space.inputs[0]) if space.inputs else "",
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
            folder = self._folders.get()
            shutil.rmtree(folder, ignore_errors=True)
            self._folders.task_done()


CLEANER = Cleaner()


def remove(space: Workspace | None) -> None:
    """Remove the job's folder (in the background; settle() waits for it)."""
    if space is not None:
        CLEANER.remove(space.root)


def settle() -> None:
    CLEANER.wait()
