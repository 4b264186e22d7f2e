"""Helpers shared by the pipeline's Lambda handlers: answering CloudFormation custom-resource
requests, reading their properties, and logging one JSON line per decision.

This folder is the Lambda's own import root: it uses only the standard library and boto3."""
