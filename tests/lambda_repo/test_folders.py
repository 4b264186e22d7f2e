import boto3
import pytest

import folders

BUCKET = "lab-pipeline"
FOLDERS = ["inputs", "configs", "submissions", "results", "logs"]


def properties(affiliates, folder_names=FOLDERS, empty="false", bucket=BUCKET):
    return {"BucketName": bucket, "Affiliates": affiliates, "Folders": folder_names,
            "EmptyBucketOnDelete": empty}


@pytest.fixture
def s3(aws):
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def versioned_s3(s3):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return s3


def keys(s3):
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def markers(affiliates, folder_names=FOLDERS):
    return sorted(f"{a}/{f}/" for a in affiliates for f in folder_names)


@pytest.mark.parametrize("affiliates", [
    pytest.param(["carcealab"], id="one_lab"),
    pytest.param(["lab.one", "lab_two", "lab-three", "Lab4"], id="names_with_dot_underscore_dash"),
])
def test_create_puts_one_empty_marker_per_lab_and_folder(s3, make_event, response_server, context, affiliates):
    folders.handler(make_event("Create", properties(affiliates)), context)

    assert keys(s3) == markers(affiliates)
    assert s3.get_object(Bucket=BUCKET, Key=f"{affiliates[0]}/inputs/")["ContentLength"] == 0
    body = response_server.last()
    assert (body["Status"], body["PhysicalResourceId"], body["Data"]) == (
        "SUCCESS", f"{BUCKET}-folders", {"Bucket": BUCKET})


def test_create_leaves_existing_markers_and_data_alone(versioned_s3, make_event, context):
    versioned_s3.put_object(Bucket=BUCKET, Key="labA/inputs/", Body=b"")
    versioned_s3.put_object(Bucket=BUCKET, Key="labA/inputs/data.csv", Body=b"1,2")

    folders.handler(make_event("Create", properties(["labA"])), context)

    versions = versioned_s3.list_object_versions(Bucket=BUCKET, Prefix="labA/inputs/")["Versions"]
    assert sorted(v["Key"] for v in versions) == ["labA/inputs/", "labA/inputs/data.csv"]
    assert keys(versioned_s3) == sorted(markers(["labA"]) + ["labA/inputs/data.csv"])


def test_create_in_a_missing_bucket_answers_failed_with_the_reason(aws, make_event, response_server, context):
    event = make_event("Create", properties(["labA"], bucket="no-such-bucket"), logical_id="AffiliateFolders")

    folders.handler(event, context)

    body = response_server.last()
    assert body["Status"] == "FAILED"
    assert "bucket no-such-bucket does not exist" in body["Reason"]
    assert body["PhysicalResourceId"] == f"AffiliateFolders-create-failed-{event['RequestId']}"


def test_rollback_delete_after_a_failed_create_touches_nothing(s3, make_event, response_server, context):
    s3.put_object(Bucket=BUCKET, Key="labA/inputs/data.csv", Body=b"1,2")
    event = make_event("Delete", properties(["labA"], empty="true"), logical_id="AffiliateFolders",
                       physical_id="AffiliateFolders-create-failed-4c1b")

    folders.handler(event, context)

    assert response_server.last()["Status"] == "SUCCESS"
    assert keys(s3) == ["labA/inputs/data.csv"]


@pytest.mark.parametrize("bad, reason", [
    pytest.param({"EmptyBucketOnDelete": "maybe"}, "EmptyBucketOnDelete", id="flag_not_true_or_false"),
    pytest.param({"Affiliates": ["lab/a"]}, "cannot be a key segment", id="lab_name_with_a_slash"),
    pytest.param({"Folders": "inputs"}, "Folders must be a list", id="folders_not_a_list"),
    pytest.param({"BucketName": ""}, "BucketName", id="empty_bucket_name"),
])
def test_invalid_properties_answer_failed(s3, make_event, response_server, context, bad, reason):
    folders.handler(make_event("Create", {**properties(["labA"]), **bad}), context)

    assert response_server.last()["Status"] == "FAILED"
    assert reason in response_server.last()["Reason"]
    assert keys(s3) == []


def test_update_adds_new_labs_and_drops_only_the_empty_folders_of_removed_labs(s3, make_event, response_server, context):
    folders.handler(make_event("Create", properties(["labA", "labB"])), context)
    s3.put_object(Bucket=BUCKET, Key="labB/inputs/data.csv", Body=b"user data")
    event = make_event("Update", properties(["labA", "labC"]), old=properties(["labA", "labB"]),
                       physical_id=f"{BUCKET}-folders")

    folders.handler(event, context)

    assert response_server.last()["Status"] == "SUCCESS"
    assert keys(s3) == sorted(markers(["labA", "labC"]) + ["labB/inputs/", "labB/inputs/data.csv"])


def test_update_with_a_folder_dropped_keeps_folders_that_hold_data(s3, make_event, context):
    folders.handler(make_event("Create", properties(["labA", "labB"])), context)
    s3.put_object(Bucket=BUCKET, Key="labB/logs/run.log", Body=b"log")
    kept = ["inputs", "configs", "submissions", "results"]

    folders.handler(make_event("Update", properties(["labA", "labB"], kept),
                               old=properties(["labA", "labB"]), physical_id=f"{BUCKET}-folders"), context)

    assert keys(s3) == sorted(markers(["labA", "labB"], kept) + ["labB/logs/", "labB/logs/run.log"])


def test_update_to_another_bucket_creates_folders_there_and_leaves_the_old_one(s3, make_event, response_server, context):
    s3.create_bucket(Bucket="lab-pipeline-2")
    folders.handler(make_event("Create", properties(["labA"])), context)

    folders.handler(make_event("Update", properties(["labA"], bucket="lab-pipeline-2"),
                               old=properties(["labA"]), physical_id=f"{BUCKET}-folders"), context)

    assert response_server.last()["PhysicalResourceId"] == "lab-pipeline-2-folders"
    assert keys(s3) == markers(["labA"])
    listed = s3.list_objects_v2(Bucket="lab-pipeline-2")["Contents"]
    assert sorted(item["Key"] for item in listed) == markers(["labA"])


def test_delete_keeping_the_bucket_removes_empty_markers_and_never_user_data(s3, make_event, response_server, context):
    folders.handler(make_event("Create", properties(["labA", "lab.b"])), context)
    user_data = ["labA/inputs/data.csv", "lab.b/results/job_1/logs/status.json", "labA/notes.txt"]
    for key in user_data:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"user data")

    folders.handler(make_event("Delete", properties(["labA", "lab.b"]), physical_id=f"{BUCKET}-folders"), context)

    assert response_server.last()["Status"] == "SUCCESS"
    assert keys(s3) == sorted(user_data + ["labA/inputs/", "lab.b/results/"])


@pytest.mark.parametrize("batch_size", [
    pytest.param(1000, id="one_batch"),
    pytest.param(2, id="many_small_batches"),
])
def test_delete_with_empty_bucket_on_delete_removes_every_version(versioned_s3, make_event, response_server,
                                                                    context, monkeypatch, batch_size):
    monkeypatch.setattr(folders, "DELETE_BATCH", batch_size)
    folders.handler(make_event("Create", properties(["labA"])), context)
    for body in (b"v1", b"v2", b"v3"):
        versioned_s3.put_object(Bucket=BUCKET, Key="labA/inputs/data.csv", Body=body)
    versioned_s3.delete_object(Bucket=BUCKET, Key="labA/inputs/data.csv")

    folders.handler(make_event("Delete", properties(["labA"], empty="true"), physical_id=f"{BUCKET}-folders"), context)

    assert response_server.last()["Status"] == "SUCCESS"
    listed = versioned_s3.list_object_versions(Bucket=BUCKET)
    assert listed.get("Versions", []) == [] and listed.get("DeleteMarkers", []) == []
    versioned_s3.delete_bucket(Bucket=BUCKET)


def test_delete_when_the_bucket_is_already_gone_succeeds(aws, make_event, response_server, context):
    event = make_event("Delete", properties(["labA"], empty="true"), physical_id=f"{BUCKET}-folders")

    folders.handler(event, context)

    assert response_server.last()["Status"] == "SUCCESS"


def test_each_marker_decision_is_logged_as_json(s3, make_event, context, decisions):
    folders.handler(make_event("Create", properties(["labA"], ["inputs"])), context)

    put = [line for line in decisions() if line["decision"] == "put-marker"]
    assert put == [{"decision": "put-marker", "bucket": BUCKET, "key": "labA/inputs/"}]


# --- Custom::BucketEmptier: the access-log bucket, emptied when the stack is deleted --------------

def emptier_event(make_event, request_type, empty, bucket=BUCKET, **more):
    event = make_event(request_type, {"BucketName": bucket, "EmptyBucketOnDelete": empty},
                       logical_id="AccessLogBucketEmptier", **more)
    event["ResourceType"] = folders.EMPTIER_TYPE
    return event


def put_log_records(s3):
    for body in (b"first", b"second"):
        s3.put_object(Bucket=BUCKET, Key="lab-pipeline/2026-01-01-00-00-00-0A1B", Body=body)
    s3.delete_object(Bucket=BUCKET, Key="lab-pipeline/2026-01-01-00-00-00-0A1B")
    s3.put_object(Bucket=BUCKET, Key="lab-pipeline/2026-01-02-00-00-00-0C2D", Body=b"third")


def test_the_emptier_type_is_the_one_the_template_declares():
    from ncap_iac import names

    assert folders.EMPTIER_TYPE == names.EMPTIER_TYPE


def test_emptier_create_puts_nothing_and_answers_its_own_id(s3, make_event, response_server, context):
    folders.handler(emptier_event(make_event, "Create", "true"), context)

    body = response_server.last()
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", f"{BUCKET}-emptier")
    assert keys(s3) == []


def test_emptier_create_in_a_missing_bucket_answers_failed(aws, make_event, response_server, context):
    folders.handler(emptier_event(make_event, "Create", "true", bucket="no-such-bucket"), context)

    assert response_server.last()["Status"] == "FAILED"
    assert "bucket no-such-bucket does not exist" in response_server.last()["Reason"]


def test_emptier_delete_removes_every_version_so_the_bucket_can_go(versioned_s3, make_event, response_server,
                                                                     context):
    put_log_records(versioned_s3)

    folders.handler(emptier_event(make_event, "Delete", "true", physical_id=f"{BUCKET}-emptier"), context)

    assert response_server.last()["Status"] == "SUCCESS"
    listed = versioned_s3.list_object_versions(Bucket=BUCKET)
    assert listed.get("Versions", []) == [] and listed.get("DeleteMarkers", []) == []
    versioned_s3.delete_bucket(Bucket=BUCKET)


def test_emptier_delete_of_a_kept_bucket_deletes_nothing(versioned_s3, make_event, response_server, context):
    put_log_records(versioned_s3)
    before = versioned_s3.list_object_versions(Bucket=BUCKET)

    folders.handler(emptier_event(make_event, "Delete", "false", physical_id=f"{BUCKET}-emptier"), context)

    assert response_server.last()["Status"] == "SUCCESS"
    after = versioned_s3.list_object_versions(Bucket=BUCKET)
    assert (len(after["Versions"]), len(after["DeleteMarkers"])) == (len(before["Versions"]), 1)


def test_emptier_update_of_its_flag_deletes_nothing(versioned_s3, make_event, response_server, context):
    put_log_records(versioned_s3)
    event = emptier_event(make_event, "Update", "false", physical_id=f"{BUCKET}-emptier",
                          old={"BucketName": BUCKET, "EmptyBucketOnDelete": "true"})

    folders.handler(event, context)

    assert response_server.last()["Status"] == "SUCCESS"
    assert len(versioned_s3.list_object_versions(Bucket=BUCKET)["Versions"]) == 3
