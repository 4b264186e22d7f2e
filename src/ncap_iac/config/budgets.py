"""The labs' monthly budgets and the workers' hourly price: named checks, warnings and notes on the
raw document, and the helpers load.py builds the model with.

A lab's budget is its affiliate's MaxCost, else Budgets.PerLabMonthlyUSD, else NCAP's
Lambda.LambdaConfig.MAXCOST (the same setting under NCAP's name; giving both differently is an
error). NCAP writes MAXCOST as a string ("300") and reads it with float(): such a string is read
as its number, so that an NCAP config keeps its budget here; any other string is refused by the
schema. No budget applies unless one of these sets it: NCAP's default of 300 is not put on
pipelines that never asked for a lockout."""
from __future__ import annotations

import json
from collections.abc import Iterator

from .. import prices
from ..errors import Issue
from .document import affiliates, items, lambda_config, number, obj
from .schema import default

DEFAULT_INSTANCE_TYPE = "p2.xlarge"
MAX_SUBSCRIBERS = 10  # AWS Budgets: email addresses per notification
# The submit function carries the labs' own budgets in one environment variable; Lambda allows
# 4 KB for all of them together.
MAX_OWN_BUDGETS_BYTES = 2048


def per_lab_budget(doc: dict) -> float | None:
    """Budgets.PerLabMonthlyUSD, else MAXCOST, as a number (None when neither is one)."""
    given = number(obj(doc.get("Budgets")).get("PerLabMonthlyUSD"))
    return given if given is not None else number(lambda_config(doc).get("MAXCOST"))


def own_budgets(doc: dict) -> dict[str, float]:
    """Each lab whose affiliate sets MaxCost -> that budget."""
    found = {}
    for _, entry in affiliates(doc):
        cost, name = entry.get("MaxCost"), entry.get("AffiliateName")
        if isinstance(cost, (int, float)) and not isinstance(cost, bool) and isinstance(name, str):
            found[name] = float(cost)
    return found


def budgets_set(doc: dict) -> bool:
    return per_lab_budget(doc) is not None or bool(own_budgets(doc))


def instance_type(doc: dict) -> str:
    """Workers.InstanceType, else NCAP's INSTANCE_TYPE, else the first of Workers.Spot.InstanceTypes,
    else p2.xlarge."""
    workers = obj(doc.get("Workers"))
    spot = obj(workers.get("Spot")).get("InstanceTypes")
    first = spot[0] if isinstance(spot, list) and spot and isinstance(spot[0], str) else DEFAULT_INSTANCE_TYPE
    chosen = workers.get("InstanceType", lambda_config(doc).get("INSTANCE_TYPE", first))
    return chosen if isinstance(chosen, str) else DEFAULT_INSTANCE_TYPE


def hourly_price(doc: dict) -> float | None:
    override = obj(doc.get("Workers")).get("HourlyPriceUSD")
    region = doc.get("REGION") if isinstance(doc.get("REGION"), str) else ""
    return prices.hourly_price(instance_type(doc), str(region), number(override) if override is not None else None)


def expected_job_minutes(doc: dict) -> float:
    given = number(obj(doc.get("Budgets")).get("ExpectedJobMinutes"))
    return given if given is not None else float(default("Budgets", "ExpectedJobMinutes"))


# Checks -------------------------------------------------------------------------------------

def check_budget_sources(doc: dict) -> Iterator[Issue]:
    given = number(obj(doc.get("Budgets")).get("PerLabMonthlyUSD"))
    ncap = number(lambda_config(doc).get("MAXCOST"))
    if given is not None and ncap is not None and given != ncap:
        yield Issue("Budgets.PerLabMonthlyUSD", f"{given:g} USD differs from Lambda.LambdaConfig.MAXCOST "
                                                f"{ncap:g} (both are each lab's budget); set it in one place")


def check_price(doc: dict) -> Iterator[Issue]:
    """With budgets, every submission is priced: a price the table lacks is looked up at deploy
    (a note says so); nothing here refuses a config for it."""
    return iter(())


def looked_up_at_deploy(doc: dict) -> bool:
    """Budgets are set and the price is neither given nor in the table: ncap deploy asks AWS."""
    return budgets_set(doc) and hourly_price(doc) is None and _price_checkable(doc)


def check_own_budgets_size(doc: dict) -> Iterator[Issue]:
    size = len(json.dumps(own_budgets(doc), separators=(",", ":")))
    if size > MAX_OWN_BUDGETS_BYTES:
        yield Issue("UXData.Affiliates", f"{len(own_budgets(doc))} labs set a MaxCost of their own ({size} "
                                         f"bytes of the submit function's environment; at most "
                                         f"{MAX_OWN_BUDGETS_BYTES}): give the common one as "
                                         f"Budgets.PerLabMonthlyUSD and MaxCost only where it differs")


def _price_checkable(doc: dict) -> bool:
    """The schema reports a malformed type or region; only a well-formed pair is looked up."""
    override = obj(doc.get("Workers")).get("HourlyPriceUSD")
    return isinstance(doc.get("REGION"), str) and override is None


def _no_price(doc: dict) -> str:
    return (f"the price table ({prices.AS_OF}) has no hourly price for {instance_type(doc)} in "
            f"{doc.get('REGION')}")


# Warnings and notes -------------------------------------------------------------------------

def warnings(doc: dict) -> list[Issue]:
    found = []
    if not budgets_set(doc) and hourly_price(doc) is None and _price_checkable(doc):
        found.append(Issue("Workers.HourlyPriceUSD", _no_price(doc) + ": cost estimates need "
                                                                      "Workers.HourlyPriceUSD"))
    if budgets_set(doc):
        found += _budget_warnings(doc)
    return found


def _budget_warnings(doc: dict) -> list[Issue]:
    found = []
    own = own_budgets(doc)
    without = [name for _, e in affiliates(doc) if isinstance(name := e.get("AffiliateName"), str) and name not in own]
    if per_lab_budget(doc) is None and without:
        shown = ", ".join(str(name) for name in without[:3]) + (", ..." if len(without) > 3 else "")
        found.append(Issue("Budgets.PerLabMonthlyUSD", f"not set, and {len(without)} lab(s) have no MaxCost "
                                                       f"({shown}): they are not limited, and the pipeline "
                                                       f"gets no AWS budget"))
    emails = [e for e in items(obj(doc.get("Notifications")).get("OperatorEmails")) if isinstance(e, str)]
    if not emails:
        found.append(Issue("Notifications.OperatorEmails", "none: the pipeline's AWS budget alerts (80 % "
                                                           "and 100 % of the labs' total) reach nobody"))
    elif len(emails) > MAX_SUBSCRIBERS:
        found.append(Issue("Notifications.OperatorEmails", f"AWS Budgets alerts at most {MAX_SUBSCRIBERS} "
                                                           f"addresses: only the first {MAX_SUBSCRIBERS} get "
                                                           f"the budget's alerts"))
    return found


def price_notes(doc: dict, where: str = "Workers.HourlyPriceUSD") -> list[Issue]:
    if not looked_up_at_deploy(doc):
        return []
    return [Issue(where, _no_price(doc) + ": the labs' budgets need it, so ncap deploy looks it up in the AWS "
                                          "Price List API (pricing:GetProducts) and passes it to the stack; set "
                                          "Workers.HourlyPriceUSD to fix it here")]


def notes(doc: dict) -> list[Issue]:
    ncap = lambda_config(doc).get("MAXCOST")
    found = []
    if number(ncap) is not None:
        written = f"'{ncap}' (a string, as NCAP writes it) is read as {number(ncap):g} USD" \
            if isinstance(ncap, str) else f"{number(ncap):g} USD"
        found.append(Issue("Lambda.LambdaConfig.MAXCOST", f"{written}: each lab's monthly budget "
                                                          f"(Budgets.PerLabMonthlyUSD)"))
    return found
