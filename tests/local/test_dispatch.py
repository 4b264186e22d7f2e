"""The router's dispatch: each S3 record goes to the function whose notification rule matches its
key; and a function in a process of its own (emulator.function_host) answers as in-process."""
import os

from ncap_iac.emulator.function_host import FunctionProcess
from ncap_iac.emulator.functions import FunctionSpec, Invocation
from ncap_iac.local.router import Dispatcher, Rule, notification_rules

SUBMIT = {"Event": "s3:ObjectCreated:*", "Function": {"Fn::GetAtt": ["SubmitFunction", "Arn"]},
          "Filter": {"S3Key": {"Rules": [{"Name": "suffix", "Value": "submit.json"}]}}}
POST = {"Event": "s3:ObjectCreated:*", "Function": {"Fn::GetAtt": ["PostFunction", "Arn"]},
        "Filter": {"S3Key": {"Rules": [{"Name": "suffix", "Value": "end.txt"}]}}}


class Recorder:
    def __init__(self, fails=False):
        self.events, self.fails = [], fails

    def __call__(self, event):
        self.events.append(event)
        if self.fails:
            return Invocation(error={"errorType": "RuntimeError", "errorMessage": "no", "stackTrace": []})
        return Invocation(result={"records": len(event["Records"])})


def record(key: str) -> dict:
    return {"eventSource": "aws:s3", "s3": {"object": {"key": key}}}


def test_rules_come_from_the_buckets_lambda_configurations():
    assert notification_rules([SUBMIT, POST]) == [Rule("SubmitFunction", "", "submit.json"),
                                                  Rule("PostFunction", "", "end.txt")]


def test_each_record_goes_to_the_function_whose_rule_matches():
    submit, post = Recorder(), Recorder()
    dispatch = Dispatcher(notification_rules([SUBMIT, POST]), {"SubmitFunction": submit, "PostFunction": post})
    outcome = dispatch({"Records": [record("lab/submissions/a_submit.json"), record("lab/results/job_1/end.txt"),
                                    record("lab/inputs/stray.csv")]})
    assert submit.events == [{"Records": [record("lab/submissions/a_submit.json")]}]
    assert post.events == [{"Records": [record("lab/results/job_1/end.txt")]}]
    assert outcome.result == {"SubmitFunction": {"records": 1}, "PostFunction": {"records": 1}}


def test_one_function_answers_as_itself_and_a_failure_is_the_outcome():
    submit, post = Recorder(), Recorder(fails=True)
    dispatch = Dispatcher(notification_rules([SUBMIT, POST]), {"SubmitFunction": submit, "PostFunction": post})
    assert dispatch({"Records": [record("a/submissions/x_submit.json")]}).result == {"records": 1}
    both = dispatch({"Records": [record("a/submissions/x_submit.json"), record("a/results/job_1/end.txt")]})
    assert not both.ok and both.error["errorMessage"] == "no"


def test_an_event_without_records_warms_every_function():
    submit, post = Recorder(), Recorder()
    Dispatcher(notification_rules([SUBMIT, POST]), {"SubmitFunction": submit, "PostFunction": post})({"Records": []})
    assert submit.events == post.events == [{"Records": []}]


def test_a_function_process_runs_the_handler_with_its_own_environment(tmp_path, monkeypatch):
    (tmp_path / "fn.py").write_text("import os\n\ndef handler(event, context):\n    print('to the log')\n"
                                    "    if event.get('fail'):\n        raise ValueError('bad')\n"
                                    "    return {'who': os.environ['AWS_ACCESS_KEY_ID'], 'mine': os.environ['MINE'],"
                                    " 'event': event}\n")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "the-parents-key")
    spec = FunctionSpec("Fn", tmp_path, "fn", "handler", {"MINE": "yes"}, 30, 128, "pipe-fn")
    process = FunctionProcess(spec, "us-east-1", {"AWS_ACCESS_KEY_ID": "the-functions-key"}, tmp_path / "Fn.log")
    try:
        assert process({"a": 1}).result == {"who": "the-functions-key", "mine": "yes", "event": {"a": 1}}
        failed = process({"fail": True})
        assert failed.error["errorType"] == "ValueError" and failed.error["errorMessage"] == "bad"
    finally:
        process.close()
    assert process.process.returncode == 0
    assert "to the log" in (tmp_path / "Fn.log").read_text(), "its output goes to its log, not into the answers"
    assert os.environ["AWS_ACCESS_KEY_ID"] == "the-parents-key"


def test_a_function_process_that_died_answers_with_an_error(tmp_path):
    spec = FunctionSpec("Fn", tmp_path, "missing_module", "handler", {}, 30, 128, "pipe-fn")
    process = FunctionProcess(spec, "us-east-1", {}, tmp_path / "Fn.log")
    try:
        outcome = process({"Records": []})
    finally:
        process.close()
    assert outcome.error["errorType"] == "ProcessExited" and "Fn.log" in outcome.error["errorMessage"]
