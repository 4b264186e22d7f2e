"""The directory's template: a Cognito user pool (sign-in by email, verified email, a password
policy, optional MFA, self sign-up on or off), its app client for the command line and the
portal (no secret, short-lived tokens, revocable refresh tokens), the directory function behind a
function URL, the pre sign-up function (sign-up domains), and the labs resource (each lab's
groups, its admins invited). Pure: no I/O, no AWS."""
from __future__ import annotations

from troposphere import AWSObject, GetAtt, Output, Ref
from troposphere.awslambda import Cors, Permission
from troposphere.cognito import (
    AccountRecoverySetting,
    AdminCreateUserConfig,
    InviteMessageTemplate,
    LambdaConfig,
    PasswordPolicy,
    Policies,
    RecoveryOption,
    TokenValidityUnits,
    UserAttributeUpdateSettings,
    UsernameConfiguration,
    UserPool,
    UserPoolClient,
)
from troposphere.iam import Policy, Role
from troposphere.logs import LogGroup
from troposphere.serverless import Environment, Function, FunctionUrlConfig
from troposphere.ssm import Parameter

from .. import names
from ..config.directory import DirectoryConfig
from ..lambda_code import CODE_FOLDER
from ..lambda_repo.ncap_lambda.people import function_name, portal_origin_parameter, registration_path, role_path
from . import iam, portal
from .build import SAM_TRANSFORM, _by_title
from .functions import BUILD_METADATA, RUNTIME, custom_resource

TOKEN_MINUTES = 60  # access and ID tokens: an hour, as the credentials they buy
REFRESH_DAYS = 30
LOG_DAYS = 90
DIRECTORY_TAG = "ncap-directory"
INVITATION = ("You are invited to the lab directory {directory}. Sign in with `ncap lab login` as {{username}} "
              "with the temporary password {{####}}; you will be asked for a new one.")


def build_directory_template(config: DirectoryConfig, portal_build: str = "") -> dict:
    """`portal_build`: a digest of the portal's built files (a new build rewrites them)."""
    hosted = config.portal_origin is None
    resources = [user_pool(config), client(config), *directory_function(config), *sign_up_function(config),
                 labs(config), portal_origin(config), *(portal.resources(config, portal_build) if hosted else [])]
    outputs = [*(portal.outputs() if hosted else []),Output(names.USER_POOL_OUTPUT, Value=Ref(names.USER_POOL)),
               Output(names.CLIENT_OUTPUT, Value=Ref(names.USER_POOL_CLIENT)),
               Output(names.DIRECTORY_URL_OUTPUT, Value=GetAtt(f"{names.DIRECTORY_FUNCTION}Url", "FunctionUrl"),
                      Description="Where ncap lab and the portal send a signed-in person's requests")]
    return {"AWSTemplateFormatVersion": "2010-09-09", "Transform": SAM_TRANSFORM,
            "Description": f"ncap_iac directory {config.name}: people and labs for the account's pipelines",
            "Resources": _by_title(resources), "Outputs": _by_title(outputs)}


def tags(config: DirectoryConfig) -> dict:
    return {DIRECTORY_TAG: config.name}


def user_pool(config: DirectoryConfig) -> UserPool:
    pool = UserPool(
        names.USER_POOL, UserPoolName=config.name, UsernameAttributes=["email"], AutoVerifiedAttributes=["email"],
        UsernameConfiguration=UsernameConfiguration(CaseSensitive=False),
        Policies=Policies(PasswordPolicy=PasswordPolicy(
            MinimumLength=config.password_minimum_length, RequireLowercase=True, RequireUppercase=True,
            RequireNumbers=True, RequireSymbols=False, TemporaryPasswordValidityDays=7)),
        MfaConfiguration=config.mfa,
        AdminCreateUserConfig=AdminCreateUserConfig(
            AllowAdminCreateUserOnly=not config.self_sign_up,
            InviteMessageTemplate=InviteMessageTemplate(
                EmailSubject=f"Your invitation to {config.name}",
                EmailMessage=INVITATION.format(directory=config.name))),
        AccountRecoverySetting=AccountRecoverySetting(RecoveryMechanisms=[RecoveryOption(Name="verified_email",
                                                                                         Priority=1)]),
        # a changed email is used only once its new address is verified (else anyone could take one)
        UserAttributeUpdateSettings=UserAttributeUpdateSettings(AttributesRequireVerificationBeforeUpdate=["email"]),
        DeletionProtection="ACTIVE", UserPoolTags=tags(config))
    if config.mfa != "OFF":
        pool.EnabledMfas = ["SOFTWARE_TOKEN_MFA"]
    if config.self_sign_up and config.domains:
        pool.LambdaConfig = LambdaConfig(PreSignUp=GetAtt(names.SIGN_UP_FUNCTION, "Arn"))
    return pool


def client(config: DirectoryConfig) -> UserPoolClient:
    return UserPoolClient(
        names.USER_POOL_CLIENT, ClientName=f"{config.name}-people", UserPoolId=Ref(names.USER_POOL),
        GenerateSecret=False, PreventUserExistenceErrors="ENABLED", EnableTokenRevocation=True,
        WriteAttributes=["name"],  # not the email: it is the login, changed only through verification
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        AccessTokenValidity=TOKEN_MINUTES, IdTokenValidity=TOKEN_MINUTES, RefreshTokenValidity=REFRESH_DAYS,
        TokenValidityUnits=TokenValidityUnits(AccessToken="minutes", IdToken="minutes", RefreshToken="days"))


def _function(logical_id: str, name: str, role: Role, description: str, environment: dict) -> list[AWSObject]:
    log_group = LogGroup(f"{logical_id}LogGroup", LogGroupName=f"/aws/lambda/{name}", RetentionInDays=LOG_DAYS)
    function = Function(logical_id, FunctionName=name, Description=description, CodeUri=CODE_FOLDER,
                        Handler="directory.handler", Runtime=RUNTIME, Timeout=900 if logical_id ==
                        names.DIRECTORY_FUNCTION else 10, MemorySize=256, Role=GetAtt(role, "Arn"),
                        Environment=Environment(Variables=environment), Metadata=BUILD_METADATA,
                        DependsOn=[log_group.title])
    return [log_group, role, function]


def _logs(name: str) -> dict:
    return iam.statement("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"],
                         [iam.service_arn("logs", f"log-group:/aws/lambda/{name}:*")])


def directory_function(config: DirectoryConfig) -> list[AWSObject]:
    """Its role is on the directory's path with a fixed name: the pipelines' member roles trust it."""
    name = function_name(config.name)
    pool = GetAtt(names.USER_POOL, "Arn")
    statements = [
        _logs(name),
        iam.statement("PeopleAndLabs", [
            "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminCreateUser", "cognito-idp:AdminGetUser",
            "cognito-idp:AdminListGroupsForUser", "cognito-idp:AdminRemoveUserFromGroup",
            "cognito-idp:CreateGroup", "cognito-idp:DeleteGroup", "cognito-idp:GetGroup", "cognito-idp:ListGroups",
            "cognito-idp:ListUsersInGroup"], [pool]),
        iam.statement("PipelinesRegistered", ["ssm:GetParametersByPath"],
                      [iam.service_arn("ssm", "parameter" + registration_path(config.name).rstrip("/"))]),
        iam.statement("LabSessions", ["sts:AssumeRole", "sts:TagSession"],
                      [iam.iam_arn(f"role{role_path(config.name)}*")]),
    ]
    if config.portal_origin is None:
        statements.append(portal.writer_statement())
    if config.mail_from:
        domain = config.mail_from.rsplit("@", 1)[1]
        statements.append(iam.statement(
            "Notices", ["ses:SendEmail"], [iam.service_arn("ses", f"identity/{config.mail_from}"),
                                           iam.service_arn("ses", f"identity/{domain}")],
            condition={"StringEquals": {"ses:FromAddress": config.mail_from}}))
    role = Role(f"{names.DIRECTORY_FUNCTION}Role", RoleName=name, Path=role_path(config.name),
                AssumeRolePolicyDocument=iam.assume_role("lambda.amazonaws.com"),
                Policies=[Policy(PolicyName="least-privilege", PolicyDocument=iam.document(*statements))])
    found = _function(names.DIRECTORY_FUNCTION, name, role, "The directory's people, labs and lab credentials",
                      {"USER_POOL_ID": Ref(names.USER_POOL), "CLIENT_ID": Ref(names.USER_POOL_CLIENT),
                       "DIRECTORY": config.name,
                       **({"MAIL_FROM": config.mail_from} if config.mail_from else {})})
    # each request carries its access token (no cookie): any page may call it, the token decides
    found[-1].FunctionUrlConfig = FunctionUrlConfig(AuthType="NONE", Cors=Cors(
        AllowOrigins=["*"], AllowMethods=["POST"], AllowHeaders=["authorization", "content-type"], MaxAge=600))
    return found


def sign_up_function(config: DirectoryConfig) -> list[AWSObject]:
    if not (config.self_sign_up and config.domains):
        return []
    name = f"{function_name(config.name)}-sign-up"
    role = Role(f"{names.SIGN_UP_FUNCTION}Role", AssumeRolePolicyDocument=iam.assume_role("lambda.amazonaws.com"),
                Policies=[Policy(PolicyName="least-privilege", PolicyDocument=iam.document(_logs(name)))])
    permission = Permission(names.SIGN_UP_PERMISSION, Action="lambda:InvokeFunction",
                            FunctionName=GetAtt(names.SIGN_UP_FUNCTION, "Arn"),
                            Principal="cognito-idp.amazonaws.com", SourceAccount=Ref("AWS::AccountId"),
                            SourceArn=GetAtt(names.USER_POOL, "Arn"))
    return [*_function(names.SIGN_UP_FUNCTION, name, role, "Admits sign-ups from the directory's domains",
                       {"SIGN_UP_DOMAINS": ",".join(config.domains), "DIRECTORY": config.name}), permission]


def portal_origin(config: DirectoryConfig) -> Parameter:
    """Where the lab portal is served: the pipelines' buckets name it in their CORS rules."""
    return Parameter(names.PORTAL_ORIGIN, Name=portal_origin_parameter(config.name), Type="String",
                     Value=config.portal_origin or portal.origin(),
                     Description=f"ncap_iac directory {config.name}: the lab portal's origin, for the pipelines' CORS")


def labs(config: DirectoryConfig) -> AWSObject:
    entries = [{"Name": lab.name, "Admins": list(lab.admins)} for lab in config.labs]
    return custom_resource(names.DIRECTORY_LABS, names.DIRECTORY_LABS_TYPE, GetAtt(names.DIRECTORY_FUNCTION, "Arn"),
                           Labs=entries)
