"""Workers.Spot as an object (Spot over several instance types, then on-demand) and
Scaling.WarmPool: read into the model, and checked.

The instance types of one group share its launch template, so they must be alike in what the
analysis needs: one architecture (the image is built for one), and NVIDIA GPUs on all or none (the
default image differs, and an analysis written for a GPU fails without one). Workers.InstanceType,
when given, must be one of them (it is the on-demand group's type and the price budgets use);
without it the first is the workers' type.

AWS refuses a warm pool on a group with a mixed instances policy or Spot instances (PutWarmPool,
EC2 Auto Scaling API reference), so with Spot over types the warm pool belongs to the stage's
on-demand group; with `Spot: true` (a mixed instances policy of one type) a warm pool is refused."""
from __future__ import annotations

from collections.abc import Iterator

from ..errors import Issue
from ..images import default_image, family, is_arm
from .capacity import configured_max_size
from .document import integer, lambda_config, obj
from .model import SpotTypes, WarmPool
from .schema import schema
from .stages import stage_document, stage_entries

GPU_FAMILIES = ("p", "g")  # NVIDIA GPU families start p<digit> or g<digit> (G4ad is refused for its AMD GPU)


def spot_object(workers: dict) -> dict | None:
    spot = workers.get("Spot")
    return spot if isinstance(spot, dict) else None


def listed_types(workers: dict) -> list[str]:
    """Spot.InstanceTypes as written (strings only; the schema reports the rest)."""
    found = obj(spot_object(workers)).get("InstanceTypes")
    return [t for t in found if isinstance(t, str)] if isinstance(found, list) else []


def given_instance_type(doc: dict) -> str | None:
    chosen = obj(doc.get("Workers")).get("InstanceType", lambda_config(doc).get("INSTANCE_TYPE"))
    return chosen if isinstance(chosen, str) else None


def spot_types(doc: dict, instance_type: str) -> SpotTypes | None:
    """The model of Workers.Spot as an object; the workers' type first among the overrides."""
    workers = obj(doc.get("Workers"))
    spot = spot_object(workers)
    if spot is None:
        return None
    listed = listed_types(workers)
    ordered = (instance_type, *[t for t in listed if t != instance_type])
    defaults = {key: value.get("default") for key, value in schema()["$defs"]["SpotTypes"]["properties"].items()}
    given = spot.get("MaxInterruptions", defaults["MaxInterruptions"])
    base = spot.get("OnDemandBaseCapacity", defaults["OnDemandBaseCapacity"])
    return SpotTypes(instance_types=ordered, max_interruptions=int(given), on_demand_base=int(base))


def warm_pool(scaling: dict) -> WarmPool | None:
    pool = scaling.get("WarmPool")
    if not isinstance(pool, dict):
        return None
    return WarmPool(size=int(pool["Size"]), state=str(pool.get("State", "Stopped")))


def has_gpu(instance_type: str) -> bool:
    name = family(instance_type)
    return name[:1] in GPU_FAMILIES and name[1:2].isdigit() or name.startswith("gr")


def check_spot(doc: dict) -> Iterator[Issue]:
    """The listed types are alike, include the workers' type, and each has an image."""
    workers = obj(doc.get("Workers"))
    listed = listed_types(workers)
    if not listed:
        return
    where = "Workers.Spot.InstanceTypes"
    given = given_instance_type(doc)
    if given is not None and given not in listed:
        yield Issue(where, f"must include Workers.InstanceType {given} (the on-demand group's type), or leave "
                           f"InstanceType out to use the first listed")
    arms = sorted(t for t in listed if is_arm(family(t)))
    if arms and len(arms) < len(listed):
        others = sorted(set(listed) - set(arms))
        yield Issue(where, f"mixes architectures: {', '.join(arms)} (arm64) with {', '.join(others)} (x86_64); "
                           f"the group's one image runs on one")
    gpus = sorted(t for t in listed if has_gpu(t))
    if gpus and len(gpus) < len(listed):
        others = sorted(set(listed) - set(gpus))
        yield Issue(where, f"mixes GPU and non-GPU types: {', '.join(gpus)} with NVIDIA GPUs, {', '.join(others)} "
                           f"without; an analysis that needs a GPU fails on the others")
    own_image = workers.get("AMI", lambda_config(doc).get("AMI")) is not None or isinstance(workers.get("Image"), dict)
    if not own_image:
        for instance_type in listed:
            found = default_image(instance_type)
            if isinstance(found, str):
                yield Issue(where, f"there is no default image for {found}; give Workers.AMI or leave the type out")


def warnings(doc: dict) -> list[Issue]:
    """A warm pool beside Spot over types serves only the on-demand group: the datasets Spot
    interrupted too often. Said for each stage that has both."""
    entries = stage_entries(doc)
    views = [(f"Stages[{i}].", stage_document(doc, entry)) for i, entry in enumerate(entries)] if entries \
        else [("", doc)]
    return [Issue(f"{where}Scaling.WarmPool", "with Workers.Spot as an object the pool is the on-demand group's (AWS "
                                             "keeps none beside Spot instances), which runs only datasets Spot "
                                             "interrupted MaxInterruptions times: other jobs get no warm start, and "
                                             "the pool's volumes are paid all month")
            for where, view in views
            if spot_object(obj(view.get("Workers"))) and isinstance(obj(view.get("Scaling")).get("WarmPool"), dict)]


def check_warm_pool(doc: dict) -> Iterator[Issue]:
    """A warm pool needs a group AWS lets have one: not `Spot: true`, whose one group is Spot."""
    pool = obj(obj(doc.get("Scaling")).get("WarmPool"))
    if not pool:
        return
    if obj(doc.get("Workers")).get("Spot") is True:
        yield Issue("Scaling.WarmPool", "AWS keeps no warm pool for a group of Spot instances: with Workers.Spot "
                                        "as an object the pool belongs to the stage's on-demand group; with "
                                        "Spot true, leave WarmPool out")
    size, most = integer(pool.get("Size")), configured_max_size(doc)
    if size is not None and most is not None and size > most:
        yield Issue("Scaling.WarmPool.Size", f"{size} is more than Workers.MaxSize {most}: the pool would hold "
                                             f"instances the group can never put in service")
