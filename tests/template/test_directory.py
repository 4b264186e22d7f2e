"""The directory's template, for what its people rely on: sign-in by email, verified, a password
policy, optional MFA, self sign-up as configured (and the pre sign-up function only with domains),
tokens of an hour; and the directory function's least privilege: this pool's people and groups,
this directory's registrations, and sessions of roles on this directory's IAM path only."""
import pytest

from ncap_iac import names
from ncap_iac.compiler import compile_directory
from ncap_iac.config.directory import directory_from, load_directory
from ncap_iac.emulator.context import placeholder_context
from ncap_iac.emulator.intrinsics import resolve
from ncap_iac.lint import lint_template

from conftest import example_config

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def template():
    return compile_directory(load_directory(example_config("lab-directory")))[0]


def properties(template, logical_id):
    context = placeholder_context(template, "us-east-1", ACCOUNT, "lab-directory").with_resources(
        {names.USER_POOL: "us-east-1_pool", names.USER_POOL_CLIENT: "client", names.PORTAL_BUCKET: "portal-bucket"}, {})
    return resolve(template["Resources"][logical_id]["Properties"], context)


def test_the_pool_signs_in_by_verified_email_with_a_password_policy_and_optional_mfa(template):
    pool = template["Resources"][names.USER_POOL]["Properties"]
    assert pool["UsernameAttributes"] == ["email"] and pool["AutoVerifiedAttributes"] == ["email"]
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] == 12 and policy["RequireUppercase"] and policy["RequireNumbers"]
    assert pool["MfaConfiguration"] == "OPTIONAL" and pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False
    assert pool["LambdaConfig"] == {"PreSignUp": {"Fn::GetAtt": [names.SIGN_UP_FUNCTION, "Arn"]}}
    assert pool["DeletionProtection"] == "ACTIVE"


def test_the_client_has_no_secret_and_tokens_of_an_hour(template):
    client = template["Resources"][names.USER_POOL_CLIENT]["Properties"]
    assert client["GenerateSecret"] is False and client["EnableTokenRevocation"] is True
    assert (client["AccessTokenValidity"], client["IdTokenValidity"]) == (60, 60)
    assert client["TokenValidityUnits"]["AccessToken"] == "minutes"


def test_without_self_sign_up_or_domains_there_is_no_trigger():
    closed = compile_directory(directory_from({"DirectoryName": "people", "REGION": "us-east-1", "Labs": [],
                                               "SignUp": {"SelfSignUp": False, "Domains": ["edu"]},
                                               "Mfa": "OFF"}))[0]
    pool = closed["Resources"][names.USER_POOL]["Properties"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert "LambdaConfig" not in pool and "EnabledMfas" not in pool
    assert names.SIGN_UP_FUNCTION not in closed["Resources"]


def test_the_directory_functions_role_reaches_only_its_pool_registrations_and_role_path(template):
    role = properties(template, f"{names.DIRECTORY_FUNCTION}Role")
    assert role["RoleName"] == "lab-directory-directory" and role["Path"] == "/ncap-directory/lab-directory/"
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}
    assert statements["PeopleAndLabs"]["Resource"] == [f"arn:aws:cognito-idp:us-east-1:{ACCOUNT}:userpool/us-east-1_pool"]
    assert statements["PipelinesRegistered"]["Action"] == ["ssm:GetParametersByPath"]
    assert statements["PipelinesRegistered"]["Resource"] == [
        f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/ncap-directory/lab-directory/pipelines"]
    assert statements["LabSessions"]["Resource"] == [f"arn:aws:iam::{ACCOUNT}:role/ncap-directory/lab-directory/*"]
    assert statements["Notices"]["Resource"] == [f"arn:aws:ses:us-east-1:{ACCOUNT}:identity/labs@example.org",
                                                 f"arn:aws:ses:us-east-1:{ACCOUNT}:identity/example.org"]
    assert statements["Notices"]["Condition"] == {"StringEquals": {"ses:FromAddress": "labs@example.org"}}
    assert statements["PortalFiles"] == {"Sid": "PortalFiles", "Effect": "Allow", "Action": ["s3:PutObject"],
                                         "Resource": ["arn:aws:s3:::portal-bucket/*"]}
    assert all("*" not in str(s["Action"]) for s in statements.values())
    assert all(s["Resource"] != ["*"] for s in statements.values())


def test_the_labs_resource_lists_each_lab_and_its_admins(template):
    labs = template["Resources"][names.DIRECTORY_LABS]
    assert labs["Type"] == "Custom::DirectoryLabs"
    assert labs["Properties"]["Labs"] == [{"Name": "lab-a", "Admins": ["pi-a@example.org"]},
                                          {"Name": "lab-b", "Admins": ["pi-b@example.org"]}]


def test_the_template_lints_clean(template):
    assert lint_template(template, "us-east-1") == []


def test_the_portals_origin_is_written_for_the_pipelines_cors_rules(template):
    parameter = template["Resources"][names.PORTAL_ORIGIN]["Properties"]
    assert parameter["Name"] == "/ncap-directory/lab-directory/portal-origin"
    served = compile_directory(directory_from({"DirectoryName": "people", "REGION": "us-east-1", "Labs": [],
                                               "Portal": {"Origin": "https://labs.example.org"}}))[0]
    assert served["Resources"][names.PORTAL_ORIGIN]["Properties"]["Value"] == "https://labs.example.org"


def test_the_portal_is_served_by_cloudfront_from_a_private_bucket_with_security_headers(template):
    resources = template["Resources"]
    bucket = resources[names.PORTAL_BUCKET]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                         "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    access = resources[names.PORTAL_ACCESS]["Properties"]["OriginAccessControlConfig"]
    assert (access["SigningBehavior"], access["OriginAccessControlOriginType"]) == ("always", "s3")
    config = resources[names.PORTAL_DISTRIBUTION]["Properties"]["DistributionConfig"]
    [origin] = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [names.PORTAL_ACCESS, "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not a legacy identity
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultCacheBehavior"]["AllowedMethods"] == ["GET", "HEAD"]
    headers = resources[names.PORTAL_HEADERS]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    policy = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    for directive in ("default-src 'none'", "script-src 'self'", "frame-ancestors 'none'",
                      "connect-src 'self' https://cognito-idp.${AWS::Region}.amazonaws.com "
                      "https://*.s3.${AWS::Region}.amazonaws.com ${DirectoryFunctionUrl.FunctionUrl}"):
        assert directive in policy
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    [reader, deny] = resources[names.PORTAL_BUCKET_POLICY]["Properties"]["PolicyDocument"]["Statement"]
    assert reader["Principal"] == {"Service": "cloudfront.amazonaws.com"} and reader["Action"] == ["s3:GetObject"]
    assert "distribution/${PortalDistribution}" in reader["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    files = resources[names.PORTAL_FILES]["Properties"]
    assert set(files["Settings"]) == {"directory", "region", "user_pool_id", "client_id", "api_url"}
    assert template["Outputs"][names.PORTAL_URL_OUTPUT]["Value"] == {
        "Fn::Sub": "https://${PortalDistribution.DomainName}/"}
    origin_value = resources[names.PORTAL_ORIGIN]["Properties"]["Value"]
    assert origin_value == {"Fn::Sub": "https://${PortalDistribution.DomainName}"}  # the buckets' CORS origin


def test_a_portal_served_elsewhere_is_not_hosted():
    served = compile_directory(directory_from({"DirectoryName": "people", "REGION": "us-east-1", "Labs": [],
                                               "Portal": {"Origin": "https://labs.example.org"}}))[0]
    assert not set(names.PORTAL_HOSTING) & set(served["Resources"])
