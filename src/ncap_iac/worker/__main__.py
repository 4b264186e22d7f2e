"""The agent alone: `python -m ncap_iac.worker worker ...` (the `ncap` of an instance's agent
bundle, which holds the worker and the job contract but not the rest of the command line)."""
from __future__ import annotations

import argparse
import sys

from ..errors import NcapError
from . import commands


def parser() -> tuple[argparse.ArgumentParser, dict]:
    top = argparse.ArgumentParser(prog="ncap", description="The ncap worker agent, as installed on a worker "
                                  "instance from the pipeline's artifact bucket.")
    top.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks for errors")
    handlers = commands.register(top.add_subparsers(dest="command", required=True, metavar="COMMAND"), common)
    return top, handlers


def main(argv: list[str] | None = None) -> int:
    top, handlers = parser()
    args = top.parse_args(argv)
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        return 130
    except NcapError as error:
        if args.debug:
            raise
        for line in error.lines():
            print(line, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
