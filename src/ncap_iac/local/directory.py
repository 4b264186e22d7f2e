"""The directory a pipeline's Access names, on the local cloud: its stack made on the emulator from
the same template (the user pool and client by the emulator package, the labs resource answered by
the real directory function), the function's URL served on localhost by the real handler in a
process of its own, with its role's credentials, and the sign-in settings written as
`directory.json` in the state folder (what `ncap lab signup/login` read).

The directory's config is found beside the pipeline's folder: the folder whose stack_config.json
has that DirectoryName."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .. import names
from ..aws.artifacts import package_functions
from ..aws.clients import Aws
from ..aws.directory import invite
from ..aws.stacks import wait_settled
from ..compiler import CAPABILITIES, TEMPLATE_NAME, compile_directory, write_code
from ..config.directory import DirectoryConfig, is_directory, load_directory
from ..config.load import read_document
from ..emulator.changes import Snapshot, complete
from ..emulator.context import placeholder_context, types_of
from ..emulator.function_host import own_processes
from ..emulator.functions import Invocation
from ..emulator.intrinsics import resolve
from ..emulator.order import dependency_order
from ..emulator.prepare import for_moto
from ..emulator.provisioners import PROVISIONERS
from ..errors import NcapError
from ..template.directory import DIRECTORY_TAG
from ..translate import translate
from .stack import ARTIFACT_BUCKET, SETTLE_SECONDS

SETTINGS_FILE = "directory.json"
HOST = "127.0.0.1"
MAX_REQUEST_BYTES = 65536
# what the emulator's CloudFormation cannot take: the function URL (served here instead) and the
# pre sign-up permission (the emulator applies the trigger's rule itself)
NOT_FOR_MOTO = ("AWS::Lambda::Url", "AWS::Lambda::Permission")
# the portal's hosting but its bucket (the local cloud serves the portal itself, and puts its
# origin in the parameter; the emulator has no CloudFront)
SERVED_HERE = (*(n for n in names.PORTAL_HOSTING if n != names.PORTAL_BUCKET), names.PORTAL_ORIGIN)
COGNITO = "AWS::Cognito::"


@dataclass
class LocalDirectory:
    config: DirectoryConfig
    settings: dict
    server: ThreadingHTTPServer
    handler: Any  # the function's process
    threads: list = field(default_factory=list)
    origins: set = field(default_factory=set)  # the web origins (the portal's) its URL answers, as its CORS rules

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.handler.close()

    @property
    def pids(self) -> list[int]:
        return [self.handler.process.pid]


def find_config(pipeline_dir: Path, name: str) -> Path:
    """The stack_config.json of directory `name` in a folder beside the pipeline's."""
    parent = pipeline_dir.resolve().parent
    for candidate in sorted(parent.glob("*/stack_config.json")):
        try:
            document = read_document(candidate)
        except NcapError:
            continue
        if is_directory(document) and document.get("DirectoryName") == name:
            return candidate
    raise NcapError(f"Access.Directory: no directory named {name!r} beside {pipeline_dir} (a folder of {parent} "
                    f"whose stack_config.json has \"DirectoryName\": \"{name}\")")


def bring_up(name: str, pipeline_dir: Path, state_dir: Path, aws: Aws, as_function, say) -> LocalDirectory:
    config = load_directory(find_config(pipeline_dir, name))
    folder = state_dir / "directory"
    folder.mkdir(parents=True, exist_ok=True)
    template_path = folder / TEMPLATE_NAME
    template, body = compile_directory(config)
    write_code(folder)
    template_path.write_text(body, encoding="utf-8")
    aws.s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    if config.mail_from:  # on AWS the operator verifies it in SES; here it is taken as verified
        aws.client("ses").verify_email_identity(EmailAddress=config.mail_from)
    packaged = package_functions(template, folder, config.name, aws, ARTIFACT_BUCKET, say=lambda line: None,
                                 requirements=False)
    translated = for_moto(dependency_order(translate(packaged, config.region)), aws)
    ids, made = _stack(config, translated, aws, template_path, as_function)
    pool, client = ids[names.USER_POOL], ids[names.USER_POOL_CLIENT]
    environments = {names.DIRECTORY_FUNCTION: {"USER_POOL_ID": pool, "CLIENT_ID": client, "DIRECTORY": config.name}}
    [handler] = own_processes(template_path, [names.DIRECTORY_FUNCTION], environments, config.region,
                              as_function).values()
    origins: set = set()
    server = ThreadingHTTPServer((HOST, 0), _url_handler(handler, origins))
    thread = threading.Thread(target=server.serve_forever, name="directory-url", daemon=True)
    thread.start()
    settings = {"directory": config.name, "region": config.region, "user_pool_id": pool, "client_id": client,
                "api_url": f"http://{HOST}:{server.server_address[1]}/", "cognito_endpoint": aws.endpoint}
    (state_dir / SETTINGS_FILE).write_text(json.dumps(settings, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    say(f"directory {config.name}: {len(config.labs)} labs, sign-in settings in {state_dir / SETTINGS_FILE} ({made})")
    return LocalDirectory(config, settings, server, handler, [thread], origins)


def _stack(config: DirectoryConfig, translated: dict, aws: Aws, template_path: Path,
           as_function) -> tuple[dict[str, str], str]:
    """The user pool and client first (the emulator's CloudFormation skips them; every other
    resource refers to them), then the stack with their ids in place, then its custom resource."""
    resources = translated["Resources"]
    pools = {k: v for k, v in resources.items() if v["Type"].startswith(COGNITO)}
    context = placeholder_context(translated, config.region, aws.account(), config.name)
    made: dict[str, str] = {}
    for logical_id in dependency_order({"Resources": pools})["Resources"]:
        provisioner = PROVISIONERS[pools[logical_id]["Type"]]
        context = context.with_resources(made, types_of(translated))
        props = resolve(pools[logical_id].get("Properties", {}), context)
        made[logical_id] = (provisioner.find and provisioner.find(logical_id, props, aws, config.name)) or \
            provisioner.create(logical_id, props, aws, config.name)
    context = context.with_resources(made, types_of(translated))
    rest = {k: v for k, v in resources.items()
            if k not in pools and v["Type"] not in NOT_FOR_MOTO and k not in SERVED_HERE}
    for_emulator = {**translated, "Outputs": {}, "Resources": _in_place(rest, pools, context)}
    once = aws.single_attempt("cloudformation")
    stack_id = once.create_stack(StackName=config.name, TemplateBody=json.dumps(for_emulator),
                                 Capabilities=list(CAPABILITIES),
                                 Tags=[{"Key": DIRECTORY_TAG, "Value": config.name}])["StackId"]
    before = Snapshot({"Resources": pools}, made)
    done = complete(before, {**for_emulator, "Resources": {**pools, **for_emulator["Resources"]}}, aws, stack_id,
                    template_path, as_function)
    stack = wait_settled(aws.cloudformation, stack_id, SETTLE_SECONDS)
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise NcapError(f"the directory's stack on the emulator ended {stack['StackStatus']}: "
                        f"{stack.get('StackStatusReason', 'no reason given')}")
    return made, f"user pool and client made first, {len(done.answered)} custom resource answered by the real handler"


def _in_place(value: Any, pools: dict, context) -> Any:
    """`value` with each Ref and GetAtt of the user pool and client replaced by its value."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in pools:
            return context.ref(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            target = value["Fn::GetAtt"]
            name, attribute = target.split(".", 1) if isinstance(target, str) else target
            if name in pools:
                return context.get_att(name, attribute)
        return {k: _in_place(v, pools, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_in_place(v, pools, context) for v in value]
    return value


def url_event(method: str, path: str, headers: dict, body: str) -> dict:
    """A function URL's request event (payload format 2.0), as Lambda gives the function."""
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
            "headers": {k.lower(): v for k, v in headers.items()}, "body": body, "isBase64Encoded": False,
            "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                        "sourceIp": HOST}}}


def _url_handler(function, origins: set) -> type:
    class FunctionUrl(BaseHTTPRequestHandler):
        def do_OPTIONS(self) -> None:  # a browser's preflight, answered as the URL's CORS rules say
            self._answer(204, "", {})

        def _cors(self) -> dict:
            origin = self.headers.get("Origin")
            if origin not in origins:
                return {}
            return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": "POST",
                    "Access-Control-Allow-Headers": "authorization,content-type", "Access-Control-Max-Age": "600",
                    "Vary": "Origin"}

        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_REQUEST_BYTES:
                self._answer(413, {"error": "the request is too large"})
                return
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            outcome: Invocation = function(url_event("POST", self.path, dict(self.headers), body))
            if not outcome.ok or not isinstance(outcome.result, dict):
                with open(function.log_path, "a", encoding="utf-8") as log:  # as Lambda logs an unhandled error
                    log.write(json.dumps({"unhandled": outcome.error}) + "\n")
                self._answer(502, {"error": f"the directory function failed (see {function.log_path})"})
                return
            result = outcome.result
            self._answer(int(result.get("statusCode", 200)), result.get("body", ""),
                         result.get("headers") or {})

        def _answer(self, status: int, body: Any, headers: dict | None = None) -> None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
            self.send_response(status)
            for key, value in {**(headers if headers is not None else {"Content-Type": "application/json"}),
                               **self._cors()}.items():
                self.send_header(key, str(value))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:
            return

    return FunctionUrl


def invite_listed(config, directory: LocalDirectory, aws: Aws, say) -> None:
    """Each lab's UserNames of a pipeline with Access, invited to the directory's lab of that name
    (as the platform engineer, with the directory's admin API), as `ncap deploy` does."""
    for affiliate in config.affiliates:
        for line in invite(aws, directory.settings["user_pool_id"], affiliate.name, list(affiliate.user_names)):
            if "not a lab" in line:
                say(line)
