"""A picture of a simulated policy: instances and queued jobs over time, as a PNG.

matplotlib is optional (the `plot` extra) and is imported only here, when a plot is asked for; the
Agg backend draws to a file without a display.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import NcapError
from .result import Result, Sample

HOURS = 3600.0


def plot(result: Result, path: str | Path, title: str = "") -> Path:
    """Draw result's instances and queued jobs against hours from the trace start; return the path."""
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(12, 4), dpi=100)
    try:
        times, instances, queued = _steps(result.series)
        axes.step(times, instances, where="post", label="instances (booting or up)", color="tab:blue")
        axes.step(times, queued, where="post", label="jobs queued", color="tab:orange", alpha=0.8)
        axes.set_xlabel("hours from the start of the trace")
        axes.set_ylabel("count")
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.set_title(title or _caption(result))
        axes.legend(loc="upper right")
        figure.tight_layout()
        figure.savefig(path, format="png")
    except OSError as exc:
        raise NcapError(f"{path}: cannot write the plot ({exc.strerror or exc})") from None
    finally:
        pyplot.close(figure)
    return Path(path)


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise NcapError("plotting needs matplotlib: pip install 'ncap-iac[plot]' (or pip install matplotlib)") from None
    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def _steps(series: tuple[Sample, ...]) -> tuple[list[float], list[int], list[int]]:
    return ([s.t / HOURS for s in series], [s.instances for s in series], [s.queued for s in series])


def _caption(result: Result) -> str:
    return (f"{result.jobs} jobs: ${result.cost_usd:.2f} ({result.cost_ratio:.2f} x the lower bound "
            f"${result.lower_bound_usd:.2f}), wait p50 {result.wait_p50_s:.0f} s, p95 {result.wait_p95_s:.0f} s")
