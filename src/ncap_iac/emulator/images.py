"""EC2 Image Builder does not run on the emulator: moto has no Image Builder, and its
CloudFormation refuses a template that reads an attribute of a resource type it does not know.
Before a template goes to moto, each AWS::ImageBuilder::Image is answered by a stand-in: an image
registered in the emulator's EC2, named after its recipe's name and version (so a changed setup
makes a new one), whose id replaces every `Fn::GetAtt [IMAGE, ImageId]`; the Image Builder
resources themselves are left out of what moto is given. The setup scripts are not run here (they
would change this machine) and neither is the image test: `ncap sample` runs the same test."""
from __future__ import annotations

from typing import Any

IMAGE_BUILDER = "AWS::ImageBuilder::"
STAND_IN_PREFIX = "ncap stand-in image "


def stand_in_images(template: dict, aws) -> dict:
    resources = template.get("Resources", {})
    images = {lid: r for lid, r in resources.items() if r.get("Type") == IMAGE_BUILDER + "Image"}
    if not images:
        return template
    ids = {lid: _stand_in(aws, _recipe_name(resources, image)) for lid, image in images.items()}
    dropped = {lid for lid, r in resources.items() if str(r.get("Type", "")).startswith(IMAGE_BUILDER)}
    kept = {lid: _without(_replaced(r, ids), dropped) for lid, r in resources.items() if lid not in dropped}
    return {**template, "Resources": kept}


def _recipe_name(resources: dict, image: dict) -> str:
    recipe = resources[image["Properties"]["ImageRecipeArn"]["Fn::GetAtt"][0]]["Properties"]
    return f"{recipe['Name']}/{recipe['Version']}"


def _stand_in(aws, recipe: str) -> str:
    ec2, name = aws.client("ec2"), STAND_IN_PREFIX + recipe
    found = ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [name]}])["Images"]
    if found:
        return found[0]["ImageId"]
    return ec2.register_image(Name=name, RootDeviceName="/dev/xvda", Architecture="x86_64",
                              Description="stands in for the image EC2 Image Builder builds on AWS")["ImageId"]


def _replaced(node: Any, ids: dict) -> Any:
    if isinstance(node, dict):
        attribute = node.get("Fn::GetAtt")
        if isinstance(attribute, list) and attribute[:1] and attribute[0] in ids and attribute[1:] == ["ImageId"]:
            return ids[attribute[0]]
        return {key: _replaced(value, ids) for key, value in node.items()}
    if isinstance(node, list):
        return [_replaced(value, ids) for value in node]
    return node


def _without(resource: dict, dropped: set[str]) -> dict:
    depends = resource.get("DependsOn")
    if depends is None:
        return resource
    left = [d for d in ([depends] if isinstance(depends, str) else depends) if d not in dropped]
    return {**{k: v for k, v in resource.items() if k != "DependsOn"}, **({"DependsOn": left} if left else {})}
