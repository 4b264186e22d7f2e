"""The agent's credentials endpoint on the loopback interface: each running job's command fetches
its own session's credentials here, the way every AWS SDK and the AWS CLI fetch a container's
(AWS_CONTAINER_CREDENTIALS_FULL_URI, with the job's token in AWS_CONTAINER_AUTHORIZATION_TOKEN),
and fetches them again before they expire. A request without a running job's token gets 403.

A job's session is assumed when its command first asks for it, and again whenever it is asked
for with less than credentials.RENEW_BEFORE seconds left; a session that cannot be assumed is a
503 to the command (its AWS calls fail) and a logged decision."""
from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .credentials import CredentialsError, Session
from .log import decision

PATH = "/ncap/job-credentials"


class JobCredentials:
    """One job's session, renewed on demand (`lazy`: assumed at the first request, not now)."""

    def __init__(self, assume: Callable[[], Session], lazy: bool = False):
        self._assume = assume
        self._lock = threading.Lock()
        self._session: Session | None = None if lazy else assume()

    def current(self) -> Session:
        with self._lock:
            if self._session is None or not self._session.fresh():
                self._session = self._assume()
            return self._session


class Endpoint:
    """The HTTP server (started on first use) and the jobs it serves, by token."""

    def __init__(self):
        self._lock = threading.Lock()
        self._jobs: dict[str, JobCredentials] = {}
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        server = self._start()
        return f"http://127.0.0.1:{server.server_address[1]}{PATH}"

    def register(self, credentials: JobCredentials) -> str:
        """A new token that fetches `credentials` until it is withdrawn."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._jobs[token] = credentials
        return token

    def withdraw(self, token: str) -> None:
        with self._lock:
            self._jobs.pop(token, None)

    def lookup(self, token: str) -> JobCredentials | None:
        with self._lock:
            return self._jobs.get(token)

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def _start(self) -> ThreadingHTTPServer:
        with self._lock:
            if self._server is None:
                self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
                self._server.daemon_threads = True
                threading.Thread(target=self._server.serve_forever, name="credentials-endpoint",
                                 daemon=True).start()
            return self._server


def _handler(endpoint: Endpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            credentials = endpoint.lookup(self.headers.get("Authorization", ""))
            if self.path != PATH or credentials is None:
                return self._answer(403, {"message": "no running job has this token"})
            try:
                self._answer(200, credentials.current().as_container_document())
            except CredentialsError as error:
                decision("credentials-failed", logging.WARNING, error=str(error))
                self._answer(503, {"message": str(error)})

        def _answer(self, status: int, document: dict) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # no access log: the agent logs decisions only
            pass

    return Handler
