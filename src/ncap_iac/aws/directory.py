"""A directory's people through Cognito's admin API, as the platform engineer (who deploys):
find its user pool, and invite a pipeline's listed people to a lab (its group). The directory
function does the same for a lab's admins; this is for `ncap deploy` and the local cloud, which
invite the UserNames of a pipeline that uses the directory."""
from __future__ import annotations

from typing import Any

PAGE = 60


def find_pool(aws: Any, name: str) -> str | None:
    """The user pool of directory `name`: its stack's UserPoolId output, else (a stack the
    emulator lists without outputs) the one pool of that name; None when there is none."""
    try:
        stacks = aws.cloudformation.describe_stacks(StackName=name)["Stacks"]
        found = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])} if stacks else {}
        if found.get("UserPoolId"):
            return str(found["UserPoolId"])
    except Exception:  # no such stack (a ValidationError): look the pool up by name
        pass
    cognito, token = aws.client("cognito-idp"), None
    while True:
        page = cognito.list_user_pools(MaxResults=PAGE, **({"NextToken": token} if token else {}))
        for pool in page.get("UserPools", []):
            if pool["Name"] == name:
                return str(pool["Id"])
        token = page.get("NextToken")
        if not token:
            return None


def invite(aws: Any, pool: str, lab: str, emails: list[str]) -> list[str]:
    """Each address a member of `lab`, invited first when the directory does not know it (Cognito
    emails the invitation). A lab the directory lacks is said, and nobody is added to it."""
    cognito, said = aws.client("cognito-idp"), []
    try:
        cognito.get_group(UserPoolId=pool, GroupName=lab)
    except cognito.exceptions.ResourceNotFoundException:
        return [f"lab {lab} is not a lab of the directory: add it to the directory's Labs (nobody invited to it)"]
    for email in (e.strip().lower() for e in emails):
        try:
            user = cognito.admin_get_user(UserPoolId=pool, Username=email)
            username = user["Username"]
            if user.get("UserStatus") == "FORCE_CHANGE_PASSWORD":  # invited before, never signed in
                cognito.admin_create_user(UserPoolId=pool, Username=email, MessageAction="RESEND",
                                          DesiredDeliveryMediums=["EMAIL"])
                said.append(f"{email}: invited to {lab} again")
            else:
                said.append(f"{email}: a member of {lab}")
        except cognito.exceptions.UserNotFoundException:
            username = cognito.admin_create_user(
                UserPoolId=pool, Username=email, DesiredDeliveryMediums=["EMAIL"],
                UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            )["User"]["Username"]
            said.append(f"{email}: invited to {lab}")
        cognito.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=lab)
    return said
