"""The AWS emulator: moto's server, with two per-request costs taken out.

- moto's dispatcher lists its own package folder (one stat call per service, about 150) on every
  request, inside a lock that every request takes. The list cannot change while the server runs,
  so it is read once.
- werkzeug logs one access line per request. Only warnings and errors are logged.

Nothing else changes: the same moto application answers every request. Measured with
benchmarks/emulator.py (S3 and SQS calls from one client): the server's CPU time per request drops
by about a third. The local cloud runs it as `python -m ncap_iac.local.emulator -H HOST -p PORT`;
tests and benchmarks start it in a thread with `threaded_server`."""
from __future__ import annotations

import logging
import sys


def quicken() -> None:
    """Read moto's list of service modules once; log only warnings and errors. Idempotent."""
    from moto import backends

    if not getattr(backends.list_of_moto_modules, "ncap_cached", False):
        modules = tuple(backends.list_of_moto_modules())

        def cached_modules() -> tuple[str, ...]:
            return modules

        cached_modules.ncap_cached = True
        backends.list_of_moto_modules = cached_modules
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def threaded_server(host: str = "127.0.0.1", port: int = 0):
    """A started moto server in a thread of this process (port 0: a free one); `.stop()` it."""
    from moto.server import ThreadedMotoServer

    quicken()
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server


def endpoint_of(server) -> str:
    """http://localhost:PORT of a threaded server (moto parses path-style S3 URLs only for a
    "localhost" host)."""
    return f"http://localhost:{server.get_host_and_port()[1]}"


def main(argv: list[str] | None = None) -> None:
    """moto's own server command (same options), quickened."""
    from moto import server

    quicken()
    server.main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
