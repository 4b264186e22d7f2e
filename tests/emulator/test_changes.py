"""Finishing a stack change on the emulator: the order resources are made in."""
from ncap_iac.emulator.changes import dependency_order, plan


def test_resources_are_listed_dependencies_first():
    resources = {
        "Function": {"Type": "AWS::Lambda::Function", "DependsOn": "LogGroup",
                     "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}}},
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Dimensions": [{"Value": {"Fn::Sub": "${Queue.Arn}-x"}}]}},
        "LogGroup": {"Type": "AWS::Logs::LogGroup"},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"Name": {"Ref": "AWS::StackName"}}},
    }
    ordered = list(dependency_order({"Resources": resources})["Resources"])
    assert ordered == ["Queue", "Alarm", "LogGroup", "Role", "Function"]


def test_a_plan_says_what_was_added_removed_and_modified():
    old = {"A": {"Type": "X"}, "B": {"Type": "X", "Properties": {"P": 1}}, "C": {"Type": "X"}}
    new = {"B": {"Type": "X", "Properties": {"P": 2}}, "C": {"Type": "X"}, "D": {"Type": "X"}}
    assert plan(old, new) == {"added": ["D"], "removed": ["A"], "modified": ["B"]}
