"""The lab portal, hosted by the directory's stack: its built files in a private bucket, served
by CloudFront through origin access control (no public bucket), HTTPS only, with security headers
and a content security policy that lets the page reach itself, the directory's Cognito and
function, and the region's S3 buckets only. The files and the page's settings (the pool, its
client, the function's URL) are written into the bucket by the directory function
(`Custom::PortalFiles`), so one build serves every deployment. Pure: no I/O."""
from __future__ import annotations

from troposphere import AWSObject, GetAtt, Output, Ref, Sub
from troposphere.cloudfront import (
    ContentSecurityPolicy,
    ContentTypeOptions,
    DefaultCacheBehavior,
    Distribution,
    DistributionConfig,
    FrameOptions,
    Origin,
    OriginAccessControl,
    OriginAccessControlConfig,
    ReferrerPolicy,
    ResponseHeadersPolicy,
    ResponseHeadersPolicyConfig,
    S3OriginConfig,
    SecurityHeadersConfig,
    StrictTransportSecurity,
    ViewerCertificate,
)
from troposphere.s3 import (
    Bucket,
    BucketEncryption,
    BucketPolicy,
    OwnershipControls,
    OwnershipControlsRule,
    PublicAccessBlockConfiguration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
    VersioningConfiguration,
)

from .. import names
from ..config.directory import DirectoryConfig
from . import iam

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # CloudFront's managed cache policy
HSTS_SECONDS = 63072000  # two years


def csp() -> Sub:
    return Sub("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
               "connect-src 'self' https://cognito-idp.${AWS::Region}.amazonaws.com "
               "https://*.s3.${AWS::Region}.amazonaws.com ${" + names.DIRECTORY_FUNCTION + "Url.FunctionUrl}; "
               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def resources(config: DirectoryConfig, files_hash: str) -> list[AWSObject]:
    bucket = Bucket(
        names.PORTAL_BUCKET, BucketName=Sub(config.name + "-portal-${AWS::AccountId}"),  # at most 60 characters
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain",
        PublicAccessBlockConfiguration=PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True),
        BucketEncryption=BucketEncryption(ServerSideEncryptionConfiguration=[ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))]),
        OwnershipControls=OwnershipControls(Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
        VersioningConfiguration=VersioningConfiguration(Status="Enabled"))
    access = OriginAccessControl(names.PORTAL_ACCESS, OriginAccessControlConfig=OriginAccessControlConfig(
        Name=f"{config.name}-portal", OriginAccessControlOriginType="s3", SigningBehavior="always",
        SigningProtocol="sigv4"))
    headers = ResponseHeadersPolicy(names.PORTAL_HEADERS, ResponseHeadersPolicyConfig=ResponseHeadersPolicyConfig(
        Name=f"{config.name}-portal", SecurityHeadersConfig=SecurityHeadersConfig(
            ContentSecurityPolicy=ContentSecurityPolicy(ContentSecurityPolicy=csp(), Override=True),
            ContentTypeOptions=ContentTypeOptions(Override=True),
            FrameOptions=FrameOptions(FrameOption="DENY", Override=True),
            ReferrerPolicy=ReferrerPolicy(ReferrerPolicy="no-referrer", Override=True),
            StrictTransportSecurity=StrictTransportSecurity(
                AccessControlMaxAgeSec=HSTS_SECONDS, IncludeSubdomains=True, Preload=True, Override=True))))
    distribution = Distribution(names.PORTAL_DISTRIBUTION, DistributionConfig=DistributionConfig(
        Enabled=True, Comment=f"ncap_iac directory {config.name}: the lab portal", DefaultRootObject="index.html",
        HttpVersion="http2and3", IPV6Enabled=True, PriceClass="PriceClass_100",
        Origins=[Origin(Id="portal", DomainName=GetAtt(names.PORTAL_BUCKET, "RegionalDomainName"),
                        S3OriginConfig=S3OriginConfig(OriginAccessIdentity=""),
                        OriginAccessControlId=GetAtt(names.PORTAL_ACCESS, "Id"))],
        DefaultCacheBehavior=DefaultCacheBehavior(
            TargetOriginId="portal", ViewerProtocolPolicy="redirect-to-https", CachePolicyId=CACHING_OPTIMIZED,
            ResponseHeadersPolicyId=Ref(names.PORTAL_HEADERS), AllowedMethods=["GET", "HEAD"], Compress=True),
        ViewerCertificate=ViewerCertificate(CloudFrontDefaultCertificate=True)))
    reader = iam.statement("CloudFrontReadsThePortal", ["s3:GetObject"], [Sub(f"${{{names.PORTAL_BUCKET}.Arn}}/*")],
                           condition={"StringEquals": {"AWS:SourceArn": Sub(
                               "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${"
                               + names.PORTAL_DISTRIBUTION + "}")}})
    reader["Principal"] = {"Service": "cloudfront.amazonaws.com"}
    deny = iam.statement("DenyInsecureTransport", ["s3:*"], [GetAtt(names.PORTAL_BUCKET, "Arn"),
                                                             Sub(f"${{{names.PORTAL_BUCKET}.Arn}}/*")],
                         condition={"Bool": {"aws:SecureTransport": "false"}}, effect="Deny")
    deny["Principal"] = "*"
    policy = BucketPolicy(names.PORTAL_BUCKET_POLICY, Bucket=Ref(names.PORTAL_BUCKET),
                          PolicyDocument=iam.document(reader, deny))
    from .functions import custom_resource

    files = custom_resource(names.PORTAL_FILES, names.PORTAL_FILES_TYPE, GetAtt(names.DIRECTORY_FUNCTION, "Arn"),
                            Bucket=Ref(names.PORTAL_BUCKET), Build=files_hash,
                            Settings={"directory": config.name, "region": Ref("AWS::Region"),
                                      "user_pool_id": Ref(names.USER_POOL), "client_id": Ref(names.USER_POOL_CLIENT),
                                      "api_url": GetAtt(f"{names.DIRECTORY_FUNCTION}Url", "FunctionUrl")})
    return [bucket, access, headers, distribution, policy, files]


def origin() -> Sub:
    return Sub("https://${" + names.PORTAL_DISTRIBUTION + ".DomainName}")


def writer_statement() -> dict:
    """What the directory function needs to write the portal's files."""
    return iam.statement("PortalFiles", ["s3:PutObject"], [Sub(f"${{{names.PORTAL_BUCKET}.Arn}}/*")])


def outputs() -> list[Output]:
    return [Output(names.PORTAL_URL_OUTPUT, Value=Sub("https://${" + names.PORTAL_DISTRIBUTION + ".DomainName}/"),
                   Description="The lab portal: where lab members sign in, upload, submit and follow their jobs")]
