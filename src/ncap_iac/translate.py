"""SAM -> plain CloudFormation, offline, with aws-sam-translator (what CloudFormation's
AWS::Serverless transform does). Needs no credentials and makes no network call: the session only
carries the region, and the template names no managed policy that would need looking up."""
from __future__ import annotations

import copy
import logging

from .errors import NcapError


def translate(template: dict, region: str, code_location: str | None = None) -> dict:
    """Translate a SAM template. code_location (s3://bucket/key) replaces every local CodeUri, as
    `sam package` would after uploading the code; without it, local paths must already be S3 URIs."""
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)
    translator = Translator(managed_policy_map={}, sam_parser=Parser(),
                            boto_session=boto3.Session(region_name=region))
    try:
        return translator.translate(sam_template=_with_code(template, code_location), parameter_values={})
    except InvalidDocumentException as exc:
        causes = "; ".join(str(c.message) for c in exc.causes)
        raise NcapError(f"the SAM translator rejected the template: {causes}") from None


def _with_code(template: dict, code_location: str | None) -> dict:
    result = copy.deepcopy(template)
    if code_location is None:
        return result
    for resource in result.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and \
                not str(properties.get("CodeUri", "")).startswith("s3://"):
            properties["CodeUri"] = code_location
    return result
