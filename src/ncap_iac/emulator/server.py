"""The AWS emulator: moto's server, with two per-request costs taken out and IAM enforced as AWS
enforces it.

- moto's dispatcher lists its own package folder (one stat call per service, about 150) on every
  request, inside a lock that every request takes. The list cannot change while the server runs,
  so it is read once.
- werkzeug logs one access line per request. Only warnings and errors are logged.
- Once IAM is enforced (a count POSTed to /moto-api/reset-auth), requests are decided by
  enforce.py: conditions, session, bucket and trust policies as AWS evaluates them.

Otherwise the same moto application answers every request. Measured with benchmarks/emulator.py
(S3 and SQS calls from one client): the server's CPU time per request is about a third below
moto's own server, with IAM enforced or not (--iam). The local cloud runs it as a process,
`python -m ncap_iac.emulator.server --host HOST --port-file FILE`, which binds a free port and
writes the port it got into FILE once it listens (no probe-then-bind race); tests and benchmarks
start it in a thread with `threaded_server`. Both install the same patches (`quicken`)."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def quicken() -> None:
    """Read moto's list of service modules once; log only warnings and errors; enforce IAM as AWS
    does (enforce.py); Auto Scaling's minimum kept (groups.py); Cognito's codes, invitations and
    pre sign-up rule as AWS has them (cognito.py). Idempotent."""
    from moto import backends

    from . import cognito, enforce, groups

    enforce.install()
    groups.install()
    cognito.install()

    if not getattr(backends.list_of_moto_modules, "ncap_cached", False):
        modules = tuple(backends.list_of_moto_modules())

        def cached_modules() -> tuple[str, ...]:
            return modules

        cached_modules.ncap_cached = True  # type: ignore[attr-defined]
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


def serve(host: str, port: int, port_file: Path | None, mail_dir: Path | None = None) -> None:
    """Serve until killed; the bound port goes to `port_file` (written atomically) when given;
    the emails Cognito would send go to `mail_dir`."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from . import cognito

    quicken()
    cognito.catch_mail(mail_dir)
    server = make_server(host, port, cognito.with_cors(DomainDispatcherApplication(create_backend_app)), threaded=True,
                         request_handler=MotoRequestHandler)
    if port_file is not None:
        tmp = port_file.with_name(f".{port_file.name}.tmp")
        tmp.write_text(str(server.server_address[1]), encoding="ascii")
        os.replace(tmp, port_file)
    server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ncap_iac.emulator.server",
                                     description="moto's server (quickened) on HOST:PORT")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 (default): a free port")
    parser.add_argument("--port-file", type=Path, help="write the port the server got into this file")
    parser.add_argument("--mail-dir", type=Path, help="catch the emails Cognito would send in this folder")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    serve(args.host, args.port, args.port_file, args.mail_dir)


if __name__ == "__main__":
    main()
