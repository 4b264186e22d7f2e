"""monitor.handler: EC2 state changes of the worker group recorded under logs/instances/."""
import json

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

from ncap_iac.local.simevents import ec2_state

import monitor
from fuzz import examples

BUCKET = "dlcmonitored1"
GROUP = "dlcmonitored1-workers"
PREFIX = "logs/instances/"
RUNNING_TIME = "2026-01-15T14:05:09Z"
UNKNOWN_ID = "i-0123456789abcdef0"


@pytest.fixture
def s3(aws, monkeypatch):
    for name, value in {"BUCKET_NAME": BUCKET, "WORKER_GROUP": GROUP, "INSTANCE_LOG_PREFIX": PREFIX}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def launch(s3):
    """launch(group, instance_type) -> the id of a new instance tagged as a member of `group`."""
    ec2 = boto3.client("ec2")

    def run(group=GROUP, instance_type="p2.xlarge"):
        tags = [{"ResourceType": "instance", "Tags": [{"Key": "aws:autoscaling:groupName", "Value": group}]}]
        reply = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType=instance_type,
                                  TagSpecifications=tags)
        return reply["Instances"][0]["InstanceId"]
    return run


def records(s3):
    """{key: parsed record} of everything under the prefix."""
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX).get("Contents", [])
    return {item["Key"]: s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read() for item in listed}


def expected_key(instance_id, state, stamp="20260115T140509Z"):
    return f"{PREFIX}2026/01/15/{stamp}_{instance_id}_{state}.json"


def test_running_member_is_recorded_with_key_and_one_json_line(s3, launch, context):
    instance_id = launch()

    result = monitor.handler(ec2_state(instance_id, "running", time=RUNNING_TIME), context)

    key = expected_key(instance_id, "running")
    assert result == {"outcome": "recorded", "bucket": BUCKET, "key": key}
    body = records(s3)[key]
    assert body.endswith(b"\n") and body.count(b"\n") == 1
    assert json.loads(body) == {"instance_id": instance_id, "state": "running", "time": RUNNING_TIME,
                                "instance_type": "p2.xlarge", "group": GROUP, "region": "us-east-1"}


def test_terminated_member_is_recorded_beside_its_running_record(s3, launch, context):
    instance_id = launch(instance_type="g4dn.xlarge")
    monitor.handler(ec2_state(instance_id, "running", time=RUNNING_TIME), context)
    boto3.client("ec2").terminate_instances(InstanceIds=[instance_id])

    monitor.handler(ec2_state(instance_id, "terminated", time="2026-01-16T00:00:01Z"), context)

    found = records(s3)
    terminated = expected_key(instance_id, "terminated", "20260116T000001Z").replace("2026/01/15", "2026/01/16")
    assert sorted(found) == [expected_key(instance_id, "running"), terminated]
    record = json.loads(found[terminated])
    assert (record["state"], record["instance_type"], record["group"]) == ("terminated", "g4dn.xlarge", GROUP)


def test_instance_of_another_group_is_not_recorded(s3, launch, context, decisions):
    instance_id = launch(group="someone-elses-workers")

    result = monitor.handler(ec2_state(instance_id, "running"), context)

    assert result == {"outcome": "not-ours", "instance_id": instance_id}
    assert records(s3) == {}
    assert {"decision": "not-ours", "instance_id": instance_id, "state": "running",
            "group": "someone-elses-workers"} in decisions()


def test_instance_without_a_group_is_not_recorded(s3, context):
    reply = boto3.client("ec2").run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)

    result = monitor.handler(ec2_state(reply["Instances"][0]["InstanceId"], "running"), context)

    assert result["outcome"] == "not-ours" and records(s3) == {}


def test_instance_ec2_no_longer_knows_is_recorded_with_nulls(s3, context, decisions):
    result = monitor.handler(ec2_state(UNKNOWN_ID, "terminated", time=RUNNING_TIME), context)

    key = expected_key(UNKNOWN_ID, "terminated")
    assert result["key"] == key
    assert json.loads(records(s3)[key]) == {"instance_id": UNKNOWN_ID, "state": "terminated",
                                            "time": RUNNING_TIME, "instance_type": None, "group": None,
                                            "region": "us-east-1"}
    assert any(d["decision"] == "record-unknown-instance" for d in decisions())


def test_empty_reservations_count_as_unknown(s3, context, monkeypatch):
    ec2 = boto3.client("ec2")
    stub = Stubber(ec2)
    stub.add_response("describe_instances", {"Reservations": []}, {"InstanceIds": [UNKNOWN_ID]})
    stub.activate()
    real_client = boto3.client
    monkeypatch.setattr(monitor.boto3, "client", lambda service: ec2 if service == "ec2" else real_client(service))

    result = monitor.handler(ec2_state(UNKNOWN_ID, "shutting-down"), context)

    assert json.loads(records(s3)[result["key"]])["instance_type"] is None


def test_redelivered_event_rewrites_the_same_key(s3, launch, context):
    instance_id = launch()
    event = ec2_state(instance_id, "running", time=RUNNING_TIME)

    first = monitor.handler(event, context)
    second = monitor.handler(json.loads(json.dumps(event)), context)

    assert first == second
    assert list(records(s3)) == [expected_key(instance_id, "running")]


def test_key_time_is_utc_whatever_offset_the_event_gives(s3, launch, context):
    instance_id = launch()

    result = monitor.handler(ec2_state(instance_id, "running", time="2026-01-15T23:30:00-02:00"), context)

    assert result["key"] == f"{PREFIX}2026/01/16/20260116T013000Z_{instance_id}_running.json"


DELETE = object()


def altered(path, value=DELETE):
    """A valid state-change event with the field at `path` replaced by `value` (or deleted)."""
    event = ec2_state(UNKNOWN_ID, "running")
    *parents, last = path
    target = event
    for part in parents:
        target = target[part]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return event


@pytest.mark.parametrize("event", [
    pytest.param(None, id="none"),
    pytest.param([], id="list"),
    pytest.param("running", id="string"),
    pytest.param({}, id="empty_object"),
    pytest.param(altered(["detail"]), id="no_detail"),
    pytest.param(altered(["detail"], "i-0123456789abcdef0"), id="detail_not_an_object"),
    pytest.param(altered(["detail", "instance-id"]), id="no_instance_id"),
    pytest.param(altered(["detail", "instance-id"], 17), id="instance_id_a_number"),
    pytest.param(altered(["detail", "instance-id"], "i-../../x"), id="instance_id_with_path"),
    pytest.param(altered(["detail", "instance-id"], "i-0123456789abcdef0\n"), id="instance_id_newline"),
    pytest.param(altered(["detail", "state"]), id="no_state"),
    pytest.param(altered(["detail", "state"], ["running"]), id="state_a_list"),
    pytest.param(altered(["detail", "state"], "running/../../x"), id="state_with_path"),
    pytest.param(altered(["time"]), id="no_time"),
    pytest.param(altered(["time"], 1768485909), id="time_a_number"),
    pytest.param(altered(["time"], "yesterday"), id="time_not_iso"),
    pytest.param(altered(["time"], "2026-01-15T14:05:09"), id="time_without_zone"),
    pytest.param(altered(["time"], "0001-01-01T00:00:00+01:00"), id="time_before_year_one_in_utc"),
    pytest.param(altered(["region"]), id="no_region"),
    pytest.param(altered(["region"], {"name": "us-east-1"}), id="region_an_object"),
])
def test_malformed_events_are_logged_and_ignored_without_any_aws_call(context, decisions, monkeypatch, event):
    def no_client(service):
        raise AssertionError(f"a malformed event made a {service} client")
    monkeypatch.setattr(monitor.boto3, "client", no_client)

    result = monitor.handler(event, context)

    assert result["outcome"] == "ignored"
    assert [d["decision"] for d in decisions()] == ["ignore-malformed-event"]


@pytest.mark.parametrize("code", ["RequestLimitExceeded", "InternalError", "UnauthorizedOperation"])
def test_ec2_errors_other_than_not_found_raise(s3, context, monkeypatch, code):
    ec2 = boto3.client("ec2")
    stub = Stubber(ec2)
    stub.add_client_error("describe_instances", service_error_code=code, http_status_code=503)
    stub.activate()
    monkeypatch.setattr(monitor.boto3, "client", lambda service: ec2)

    with pytest.raises(Exception) as raised:
        monitor.handler(ec2_state(UNKNOWN_ID, "running"), context)
    assert code in str(raised.value)


def test_a_missing_bucket_raises(aws, monkeypatch, context):
    for name, value in {"BUCKET_NAME": "no-such-bucket", "WORKER_GROUP": GROUP, "INSTANCE_LOG_PREFIX": PREFIX}.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(Exception, match="NoSuchBucket"):
        monitor.handler(ec2_state(UNKNOWN_ID, "terminated"), context)



class WouldCallAws(Exception):
    pass


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
                    max_leaves=8)
FIELD = JSON | st.sampled_from(["running", "i-0123456789abcdef0", "2026-01-15T14:05:09Z", "us-east-1", ""])


@settings(max_examples=examples(300))
@given(event=st.fixed_dictionaries({}, optional={
    "detail": st.fixed_dictionaries({}, optional={"instance-id": FIELD, "state": FIELD}) | JSON,
    "time": FIELD, "region": FIELD}) | JSON)
def test_random_events_are_ignored_or_reach_aws_never_anything_else(event):
    def client(service):
        raise WouldCallAws(service)
    original, monitor.boto3.client = monitor.boto3.client, client
    try:
        assert monitor.handler(event, None)["outcome"] == "ignored"
    except WouldCallAws:
        monitor.read_change(event)  # only a well-formed event gets this far
    finally:
        monitor.boto3.client = original


# --- a warm pool's stopped time, booked in the ledger -----------------------------------------

RATE = 100 * 0.08 / 720  # a 100 GiB gp3 root volume, per hour


def warm_ledger(s3):
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="ledger/").get("Contents", [])
    return {item["Key"]: json.loads(s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()) for item in listed}


@pytest.fixture
def pool(s3, monkeypatch):
    monkeypatch.setenv("WARM_POOLS", json.dumps({GROUP: RATE}))


def stop(instance_id):
    boto3.client("ec2").stop_instances(InstanceIds=[instance_id])


def test_the_time_a_pool_instance_stood_stopped_is_booked_when_it_starts_again(s3, launch, pool, context):
    instance_id = launch()
    stop(instance_id)
    monitor.handler(ec2_state(instance_id, "stopped", time="2026-01-31T23:00:00Z"), context)
    assert warm_ledger(s3) == {}, "nothing is booked while it stands stopped"
    monitor.handler(ec2_state(instance_id, "pending", time="2026-02-01T01:30:00Z"), context)
    [(key, entry)] = warm_ledger(s3).items()
    assert key == f"ledger/2026-02/_unattributed/warm-pool/{instance_id}-20260131T230000Z.json"
    assert entry["kind"] == "warm-pool" and entry["lab"] == "_unattributed" and entry["seconds"] == 9000
    assert entry["cost_usd"] == pytest.approx(RATE * 2.5)
    assert not [k for k in records(s3) if "/warm/" in k], "the kept stop time is gone once booked"
    monitor.handler(ec2_state(instance_id, "pending", time="2026-02-01T01:30:00Z"), context)
    assert len(warm_ledger(s3)) == 1, "a redelivered start books nothing twice"


def test_a_pool_instance_terminated_while_stopped_books_its_stopped_time(s3, launch, pool, context):
    instance_id = launch()
    stop(instance_id)
    monitor.handler(ec2_state(instance_id, "stopped", time="2026-03-01T10:00:00Z"), context)
    monitor.handler(ec2_state(instance_id, "shutting-down", time="2026-03-01T10:10:00Z"), context)
    [entry] = warm_ledger(s3).values()
    assert entry["seconds"] == 600


def test_groups_without_a_pool_book_nothing(s3, launch, context, monkeypatch):
    monkeypatch.setenv("WARM_POOLS", json.dumps({"another-group": RATE}))
    instance_id = launch()
    monitor.handler(ec2_state(instance_id, "stopped", time="2026-03-01T10:00:00Z"), context)
    monitor.handler(ec2_state(instance_id, "pending", time="2026-03-01T11:00:00Z"), context)
    assert warm_ledger(s3) == {} and not [k for k in records(s3) if "/warm/" in k]


def test_an_unreadable_kept_stop_time_is_dropped_without_booking(s3, launch, pool, context, decisions):
    instance_id = launch()
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}warm/{instance_id}.json", Body=b"[not a record")
    result = monitor.handler(ec2_state(instance_id, "pending", time="2026-03-01T11:00:00Z"), context)
    assert result["outcome"] == "recorded" and warm_ledger(s3) == {}
    assert not [k for k in records(s3) if "/warm/" in k]


def test_a_stop_delivered_after_the_start_that_ended_it_is_not_kept(s3, launch, pool, context):
    """EventBridge does not keep order: a stop that reaches the monitor while EC2 says the instance
    runs again is not kept, so that no later start books the time since then."""
    instance_id = launch()  # running, as EC2 says it is now
    monitor.handler(ec2_state(instance_id, "stopped", time="2026-03-01T10:00:00Z"), context)
    assert not [k for k in records(s3) if "/warm/" in k]
    monitor.handler(ec2_state(instance_id, "pending", time="2026-03-02T10:00:00Z"), context)
    assert warm_ledger(s3) == {}
