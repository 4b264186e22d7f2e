"""`ncap local mail`: the emails a local cloud caught instead of sending them (the emulator's
Cognito writes one JSON line per email into the state folder's mail/mail.jsonl)."""
from __future__ import annotations

import json
from pathlib import Path

from ..emulator.cognito import MAIL_FILE
from ..errors import NcapError
from . import state


def caught(folder: Path) -> list[dict]:
    """The emails of the local cloud whose state folder is `folder`, oldest first."""
    path = folder / "mail" / MAIL_FILE
    if not path.exists():
        return []
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            found.append(json.loads(line))
        except ValueError:
            raise NcapError(f"{path}:{number}: not an email this version of ncap wrote") from None
    return found


def show(pipeline_dir: Path, given_state: str | None, to: str | None, as_json: bool, say) -> int:
    folder = state.state_dir(pipeline_dir, given_state)
    if not folder.is_dir():
        raise NcapError(f"no local cloud state in {folder} (start it: ncap local up {pipeline_dir})")
    emails = [m for m in caught(folder) if to is None or str(m.get("to", "")).lower() == to.lower()]
    for email in emails:
        if as_json:
            say(json.dumps(email, sort_keys=True))
        else:
            say(f"{email.get('time')}  to {email.get('to')}  {email.get('subject')}\n    {email.get('body')}")
    if not emails and not as_json:
        say("no emails" + (f" to {to}" if to else "") + f" in {folder}")
    return 0
