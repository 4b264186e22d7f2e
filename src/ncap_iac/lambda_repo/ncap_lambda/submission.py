"""Reading and checking a lab's submit.json: its shape, and the keys it names.

A problem in the submission raises `Rejected` with a reason a lab member can act on: it names the
field and the value. Nothing here touches AWS except through the `pin(key, version)` callable,
which gives the object version the submission means (see pinning.py)."""
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass

JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_DATASETS = 100
MAX_KEY_BYTES = 1024  # the S3 limit
SHOWN_CHARS = 120  # of a user's value quoted in a reason
JSON_KINDS = ((type(None), "null"), (bool, "boolean"), ((int, float), "number"), (str, "string"),
              (list, "array"), (dict, "object"))


class Rejected(Exception):
    """The submission cannot run; `reason` says why, for the lab member."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class NotPinned(Exception):
    """A key of the submission has no version that belongs to it (pinning.NotSubmitted)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Checked:
    datasets: tuple  # dataset keys, in the submission's order
    configname: str | None
    versions: tuple = ()  # (key, version id) of every dataset and the config, pinned


def clean(text):
    """`text` with anything that is not encodable as UTF-8 (lone surrogates) escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def shown(value):
    """A user's value quoted for a reason: JSON, shortened, safe to write anywhere."""
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > SHOWN_CHARS:
        text = text[:SHOWN_CHARS - 3] + "..."
    return clean(text)


def kind(value):
    """The JSON type name of a parsed value."""
    return next(name for types, name in JSON_KINDS if isinstance(value, types))


def size_text(limit):
    return f"{limit // 1024} KiB" if limit % 1024 == 0 else f"{limit} bytes"


def decoded(raw):
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise Rejected(f"the submit file is not UTF-8 text (byte {error.start + 1} is not valid "
                       "UTF-8); save it as UTF-8 JSON") from None


def loaded(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise Rejected(f"the submit file is not valid JSON: {error.msg} at line {error.lineno} "
                       f"column {error.colno}") from None
    except (ValueError, RecursionError) as error:  # e.g. a 5000-digit number, deep nesting
        raise Rejected(f"the submit file is not usable JSON: {clean(str(error))[:200]}") from None


def parse(raw, limit, size=None):
    """The submit file's bytes (`size` of them in S3) -> its JSON object."""
    size = max(len(raw), len(raw) if size is None else size)
    if size > limit:
        raise Rejected(f"the submit file is {size} bytes; the limit is {size_text(limit)}")
    document = loaded(decoded(raw))
    if not isinstance(document, dict):
        raise Rejected('the submit file must hold a JSON object like {"dataname": "LAB/inputs/'
                       f'x.csv", "configname": "LAB/configs/c.yaml"}}, not a JSON {kind(document)}')
    return document


def is_job_token(text):
    return isinstance(text, str) and JOB_ID.fullmatch(text) is not None


def token_or_hash(name, source):
    """`name` when it is a job-id token, else "job-" + 12 hex digits of sha256(source)."""
    if is_job_token(name):
        return name
    return "job-" + hashlib.sha256(source.encode("utf-8", "backslashreplace")).hexdigest()[:12]


def job_id(document, submit_key):
    """The timestamp when it is a token; else the submit file's name; else a hash of its key."""
    stamp = document.get("timestamp") if isinstance(document, dict) else None
    if is_job_token(stamp):
        return stamp
    name = submit_key.rsplit("/", 1)[-1]
    name = name[:-len("submit.json")] if name.endswith("submit.json") else name
    return token_or_hash(name.rstrip("_-."), submit_key)


def bad_character(key):
    """A description of the first character S3 keys here must not hold, or None."""
    for char in key:
        if char == "\\":
            return "a backslash"
        if unicodedata.category(char) in ("Cc", "Cs"):
            return f"the control character U+{ord(char):04X}"
    return None


def without_bucket_url(field, value, bucket):
    """"s3://<bucket>/key" -> "key" for this bucket; another bucket is rejected."""
    if not value.startswith("s3://"):
        return value
    named, _, key = value[len("s3://"):].partition("/")
    if named != bucket:
        raise Rejected(f"{field} {shown(value)} points to bucket {shown(named)}; use a key in this "
                       f"pipeline's bucket {bucket}")
    return key


def check_form(field, key):
    """Reject keys that are not a plain relative path of non-empty, non-dot segments."""
    problem = bad_character(key)
    if problem:
        raise Rejected(f"{field} {shown(key)} contains {problem}; use a plain key")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise Rejected(f"{field} {shown(key)} is longer than S3's {MAX_KEY_BYTES}-byte key limit")
    if key.startswith("/"):
        raise Rejected(f"{field} {shown(key)} is an absolute path; give the key without a "
                       "leading /")
    segments = key.split("/")
    if any(segment in (".", "..") for segment in segments):
        raise Rejected(f'{field} {shown(key)} contains a ".." or "." segment; name the file '
                       'directly')
    if "" in segments:
        raise Rejected(f"{field} {shown(key)} has an empty path segment (// or a trailing /)")


def checked_key(field, value, bucket, affiliate, folder):
    """The key `value` names, when it lies under `<affiliate>/<folder>/` and is safe to use."""
    if not isinstance(value, str) or not value:
        raise Rejected(f"{field} must be a non-empty string, got {kind(value)} {shown(value)}")
    key = without_bucket_url(field, value, bucket)
    check_form(field, key)
    owner, _, rest = key.partition("/")
    if owner != affiliate:
        raise Rejected(f"{field} {shown(value)} belongs to {shown(owner)}, not to lab {affiliate}; "
                       f"a submission may only use its own lab's files")
    if not rest.startswith(folder + "/") or rest == folder + "/":
        raise Rejected(f"{field} {shown(value)} is outside {affiliate}/{folder}/; put the file "
                       f"there and name it like {affiliate}/{folder}/NAME")
    return key


def dataset_values(document, example):
    if document.get("dataname") is None:
        raise Rejected(f'the submission has no "dataname"; give an input file\'s key, like '
                       f'{example}, or a list of keys')
    value = document["dataname"]
    if isinstance(value, str):
        return [("dataname", value)]
    if not isinstance(value, list):
        raise Rejected(f"dataname must be a string or a list of strings, got {kind(value)} "
                       f"{shown(value)}")
    if not value or len(value) > MAX_DATASETS:
        raise Rejected(f"dataname lists {len(value)} files; give between 1 and {MAX_DATASETS}")
    return [(f"dataname[{index}]", item) for index, item in enumerate(value)]


def check_unique(fields_and_keys):
    """No key twice, and no two datasets with the same file name (their results would mix)."""
    seen_keys: dict = {}
    seen_names: dict = {}
    for field, key in fields_and_keys:
        name = key.rsplit("/", 1)[-1]
        if key in seen_keys:
            raise Rejected(f"{seen_keys[key]} and {field} both name {shown(key)}; list each file "
                           "once")
        if name in seen_names:
            raise Rejected(f"{seen_names[name]} and {field} have the same file name {shown(name)}; "
                           "results are kept per file name, so rename one")
        seen_keys[key], seen_names[name] = field, field


def datasets(document, bucket, affiliate, inputs):
    fields_and_keys = [(field, checked_key(field, value, bucket, affiliate, inputs))
                       for field, value in dataset_values(document, f"{affiliate}/{inputs}/x.csv")]
    check_unique(fields_and_keys)
    return fields_and_keys


def configname(document, bucket, affiliate, configs, default_name):
    value = document.get("configname")
    if value is not None:
        return checked_key("configname", value, bucket, affiliate, configs)
    if default_name:
        return f"{affiliate}/{configs}/{default_name}"
    raise Rejected('the submission has no "configname"; give the config file\'s key, like '
                   f"{affiliate}/{configs}/config.yaml")


def check_timestamp(document):
    stamp = document.get("timestamp")
    if stamp is not None and not isinstance(stamp, str):
        raise Rejected(f"timestamp must be a string, got {kind(stamp)} {shown(stamp)}")


def given_versions(document, keys):
    """The submission's "versions": {key: version id} of keys it names (may be absent)."""
    value = document.get("versions", {})
    if not isinstance(value, dict) or not all(isinstance(v, str) and v for v in value.values()):
        raise Rejected(f'versions must be an object of {{"KEY": "VERSION ID"}}, got {kind(value)} {shown(value)}')
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise Rejected(f"versions names {shown(unknown[0])}, which is not a dataset or the config of this "
                       "submission")
    return value


def pinned(pin, field, key, version, missing_reason=None):
    """The version `pin` gives; its refusal (a NotSubmitted with a reason) as a rejection."""
    try:
        return pin(key, version)
    except NotPinned as error:
        detail = error.reason
        if missing_reason and detail == f"not found: {key}":
            raise Rejected(f"{missing_reason} ({detail})") from None
        hint = "; upload it before the submit file or fix the name" if detail.startswith("not found") else ""
        raise Rejected(f"{detail} (the {field}){hint}") from None


def check(document, settings, affiliate, pin):
    """The datasets and config of a parsed submission, each pinned to the version `pin(key,
    given version or None)` says the submission means."""
    check_timestamp(document)
    found = datasets(document, settings.bucket, affiliate, settings.inputs)
    config = configname(document, settings.bucket, affiliate, settings.configs,
                        settings.default_config_name)
    given = given_versions(document, [key for _, key in found] + [config])
    versions = [(key, pinned(pin, field, key, given.get(key))) for field, key in found]
    versions.append((config, pinned(pin, "configname", config, given.get(config), settings.missing_config_error)))
    return Checked(tuple(key for _, key in found), config,
                   tuple((key, version) for key, version in versions if version is not None))
