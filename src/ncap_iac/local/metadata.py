"""The instance metadata service of the local cloud's instances: what EC2 gives an instance, served
on localhost, each instance under a path of its own. An instance's processes find it through
AWS_EC2_METADATA_SERVICE_ENDPOINT (http://localhost:PORT/INSTANCE_ID/), which botocore, the
agent and the user data's boot all read; without it they go to EC2's 169.254.169.254.

As IMDSv2 with HttpTokens required (the launch templates' setting): a token from PUT
/latest/api/token, then reads with it. Served: the instance's id, type, region and zone, its
profile's role credentials (assumed as EC2 assumes them: a session named after the instance,
renewed before they expire), the group's target lifecycle state, the identity document (with the
launch time the group's record gives, the start of the instance's bill), its life cycle
("spot" for the instances of a Spot group, which `ncap local interrupt` can interrupt: the Spot
interruption notice is then served, as EC2 serves it two minutes before it reclaims the instance;
else 404)."""
from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN_TTL_LIMIT = 21600
RENEW_BEFORE_SECONDS = 600  # credentials this close to their expiry are assumed again


@dataclass
class Instance:
    instance_id: str
    instance_type: str
    role_name: str
    credentials: Callable[[], dict]  # -> {AccessKeyId, SecretAccessKey, SessionToken, Expiration: datetime}
    lifecycle: Callable[[], str]  # -> the group's target lifecycle state of the instance
    launched: Callable[[], str] | None = None  # -> when it was launched, as the identity document's pendingTime
    life_cycle: str = "on-demand"  # instance-life-cycle: "on-demand" or "spot"
    interruption: Callable[[], str | None] | None = None  # -> the Spot instance-action document, or None
    kept: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def role_keys(self) -> dict:
        with self.lock:
            expiry = self.kept.get("Expiration")
            if expiry is None or expiry - datetime.now(UTC) < timedelta(seconds=RENEW_BEFORE_SECONDS):
                self.kept = self.credentials()
            return dict(self.kept)


class MetadataService:
    """One server for every instance of a local cloud."""

    def __init__(self, region: str, account: str):
        self.region, self.account = region, account
        self.instances: dict[str, Instance] = {}
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (instance id, expiry)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="instance-metadata", daemon=True).start()

    def endpoint(self, instance_id: str) -> str:
        return f"http://localhost:{self.server.server_address[1]}/{instance_id}/"

    def add(self, instance: Instance) -> None:
        self.instances[instance.instance_id] = instance

    def remove(self, instance_id: str) -> None:
        self.instances.pop(instance_id, None)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def issue_token(self, instance_id: str, seconds: int) -> str:
        token = secrets.token_urlsafe(32)
        self.tokens[token] = (instance_id, time.monotonic() + seconds)
        return token

    def token_valid(self, token: str | None, instance_id: str) -> bool:
        found = self.tokens.get(token or "")
        return found is not None and found[0] == instance_id and found[1] > time.monotonic()

    def read(self, instance: Instance, path: str) -> str | None:
        """The text at a metadata path, or None (404)."""
        fixed = {"/latest/meta-data/instance-id": instance.instance_id,
                 "/latest/meta-data/instance-type": instance.instance_type,
                 "/latest/meta-data/instance-life-cycle": instance.life_cycle,
                 "/latest/meta-data/placement/region": self.region,
                 "/latest/meta-data/placement/availability-zone": f"{self.region}a",
                 "/latest/meta-data/iam/security-credentials/": instance.role_name,
                 "/latest/dynamic/instance-identity/document": json.dumps(
                     {"accountId": self.account, "instanceId": instance.instance_id, "region": self.region,
                      "availabilityZone": f"{self.region}a", "instanceType": instance.instance_type,
                      **({"pendingTime": instance.launched()} if instance.launched else {})})}
        if path in fixed:
            return fixed[path]
        if path == f"/latest/meta-data/iam/security-credentials/{instance.role_name}":
            return _credentials_document(instance.role_keys())
        if path == "/latest/meta-data/autoscaling/target-lifecycle-state":
            return instance.lifecycle()
        if path == "/latest/meta-data/spot/instance-action" and instance.interruption is not None:
            return instance.interruption()
        return None


def _credentials_document(keys: dict) -> str:
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return json.dumps({"Code": "Success", "Type": "AWS-HMAC", "LastUpdated": datetime.now(UTC).strftime(stamp),
                       "AccessKeyId": keys["AccessKeyId"], "SecretAccessKey": keys["SecretAccessKey"],
                       "Token": keys["SessionToken"], "Expiration": keys["Expiration"].strftime(stamp)})


def _handler(service: MetadataService):
    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            instance_id, path = self._split()
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
            if path != "/latest/api/token" or instance_id not in service.instances:
                return self._answer(404, "")
            if not ttl.isdigit() or not 1 <= int(ttl) <= TOKEN_TTL_LIMIT:
                return self._answer(400, "")
            self._answer(200, service.issue_token(instance_id, int(ttl)))

        def do_GET(self) -> None:
            instance_id, path = self._split()
            instance = service.instances.get(instance_id)
            if instance is None:
                return self._answer(404, "")
            if not service.token_valid(self.headers.get("X-aws-ec2-metadata-token"), instance_id):
                return self._answer(401, "")
            try:
                text = service.read(instance, path)
            except Exception:  # the emulator did not answer: as EC2's service does, say so
                return self._answer(500, "")
            self._answer(200, text) if text is not None else self._answer(404, "")

        def _split(self) -> tuple[str, str]:
            _, instance_id, *rest = self.path.split("?", 1)[0].split("/", 2)
            return instance_id, "/" + (rest[0] if rest else "")

        def _answer(self, status: int, text: str) -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    return Handler
