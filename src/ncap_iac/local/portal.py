"""The lab portal on the local cloud: the same built files the directory's stack would serve
(ncap_iac/portal, built from portal/), served on localhost with the response headers the stack's
distribution adds, and a `settings.json` naming this cloud's directory, Cognito and S3."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

HOST = "127.0.0.1"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".json": "application/json"}
FILES = ("index.html", "app.js", "yaml.js", "app.css")


def security_headers(connect: list[str]) -> dict[str, str]:
    """What the portal's pages are sent with: a content security policy that lets the page reach
    itself and `connect` (the directory's Cognito and function, the pipelines' buckets) only."""
    policy = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
              f"connect-src 'self' {' '.join(connect)}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
    return {"Content-Security-Policy": policy, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


class Portal:
    def __init__(self, settings: dict):
        self.settings = settings
        self.files = {name: resources.files("ncap_iac.portal").joinpath(name).read_bytes() for name in FILES}
        self.server = ThreadingHTTPServer((HOST, 0), _handler(self))
        self.url = f"http://{HOST}:{self.server.server_address[1]}/"
        self.headers = security_headers(sorted({_origin(settings["cognito_endpoint"]), _origin(settings["api_url"]),
                                                _origin(settings["s3_endpoint"])}))
        self.thread = threading.Thread(target=self.server.serve_forever, name="portal", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _handler(portal: Portal) -> type:
    class Files(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.split("?", 1)[0].lstrip("/") or "index.html"
            if name == "settings.json":
                body = json.dumps(portal.settings, sort_keys=True).encode()
            elif name in portal.files:
                body = portal.files[name]
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", TYPES.get("." + name.rsplit(".", 1)[-1], "application/octet-stream"))
            for key, value in portal.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            return

    return Files


def start_portal(directory: Any, aws: Any) -> Portal:
    """The portal of a local directory: served, let through the directory URL's CORS rules, and
    its origin put where the directory's stack puts it on AWS (the SSM parameter the pipelines'
    bucket CORS rules read when they are deployed)."""
    from ..lambda_repo.ncap_lambda.people import portal_origin_parameter

    portal = Portal({**directory.settings, "s3_endpoint": aws.endpoint})
    origin = portal.url.rstrip("/")
    directory.origins.add(origin)
    aws.client("ssm").put_parameter(Name=portal_origin_parameter(directory.config.name), Value=origin,
                                    Type="String", Overwrite=True)
    return portal
