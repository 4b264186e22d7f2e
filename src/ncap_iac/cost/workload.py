"""A synthetic job trace shaped on NCAP's published runs, for comparing policies.

NCAP ran about 310 jobs in 30 days for 8 labs. Its analyses took about 1,300 s (DeepLabCut),
2,400 s (PMD) and 3,900 s (CaImAn) per dataset. Labs submitted batches of 1 to 15 datasets at once,
about twice a week each, in working hours. The trace keeps that shape: each lab, on each weekday,
submits a batch with probability 2/5 at a time between 9:00 and 18:00; a batch is one analysis with
mostly small sizes (1 + an exponential of mean 4, at most 15) and durations spread about +-15 %
around the analysis's mean. Day 0 is a Monday; times are seconds from its midnight.
Only random.Random(seed) is used, so a seed always gives the same trace.
"""
from __future__ import annotations

import csv
import random
from pathlib import Path

from .trace import COLUMNS, Job

LABS = tuple(f"lab-{letter}" for letter in "abcdefgh")
ANALYSES_S = (1300.0, 2400.0, 3900.0)  # DeepLabCut, PMD, CaImAn: mean seconds per dataset
BATCHES_PER_LAB_PER_WEEK = 2
WORKDAY_S = (9 * 3600, 18 * 3600)
MAX_BATCH = 15
MEAN_EXTRA_DATASETS = 4.0
SPREAD = 0.15


def ncap_trace(seed: int, days: int = 30) -> tuple[Job, ...]:
    """The jobs of `days` days for 8 labs, sorted by submit time."""
    rng = random.Random(seed)
    jobs: list[Job] = []
    for day in range(days):
        if day % 7 >= 5:  # Saturday, Sunday
            continue
        for lab in LABS:
            if rng.random() < BATCHES_PER_LAB_PER_WEEK / 5:
                jobs += _batch(rng, lab, day * 86400 + rng.randint(*WORKDAY_S))
    return tuple(sorted(jobs, key=lambda job: job.submit_s))


def _batch(rng: random.Random, lab: str, submit_s: int) -> list[Job]:
    """One submission: 1 to 15 datasets of one analysis, all submitted at the same second."""
    mean = rng.choice(ANALYSES_S)
    size = min(MAX_BATCH, 1 + int(rng.expovariate(1 / MEAN_EXTRA_DATASETS)))
    return [Job(float(submit_s), lab, float(round(mean * rng.uniform(1 - SPREAD, 1 + SPREAD)))) for _ in range(size)]


def write_csv(jobs: tuple[Job, ...] | list[Job], path: str | Path) -> None:
    """Write jobs as a trace file that read_trace reads back unchanged."""
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for job in jobs:
            writer.writerow([repr(job.submit_s), job.lab, repr(job.duration_s)])


def even_trace(jobs_per_month: int, minutes: float, batch: int = 1, days: int = 30) -> tuple[Job, ...]:
    """A simple month: `jobs_per_month` jobs of `minutes` each, submitted `batch` at a time (one
    lab's submission of that many datasets), the submissions evenly spread over `days` days, the
    first at the start. Deterministic: the same arguments give the same trace."""
    submissions = -(-jobs_per_month // batch)
    gap = days * 86400.0 / submissions
    sizes = [batch] * (jobs_per_month // batch) + ([jobs_per_month % batch] if jobs_per_month % batch else [])
    return tuple(Job(round(index * gap, 3), "lab", minutes * 60.0) for index, size in enumerate(sizes)
                 for _ in range(size))
