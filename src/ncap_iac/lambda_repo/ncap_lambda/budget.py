"""A lab's monthly budget: a submission whose estimate would take the lab past it is rejected.

The estimate is NCAP's: the instance's hourly price x the expected minutes per dataset x the
datasets. The month's spend is what the lab's finished jobs cost in the current UTC month, from
the ledger (ledger.month_spend); jobs still queued or running are not in it yet."""
from .ledger import current_month, month_spend
from .log import get_logger, log_decision

LOG = get_logger("ncap_lambda.budget")
SLACK_USD = 1e-9  # an estimate that meets the budget exactly fits, whatever the floats' rounding


def estimate_usd(settings, datasets):
    return settings.hourly_price_usd * settings.expected_job_minutes / 60.0 * datasets


def over_budget(s3, settings, lab, datasets, month=None):
    """The reason to reject a submission of `datasets` datasets, or None when it fits the lab's
    budget (or the lab has none)."""
    budget = settings.budget_of(lab)
    if budget is None or datasets < 1:
        return None
    month = month or current_month()
    spent, estimate = month_spend(s3, settings.bucket, lab, month), estimate_usd(settings, datasets)
    log_decision(LOG, "budget", affiliate=lab, month=month, budget_usd=budget, spent_usd=spent,
                 estimate_usd=round(estimate, 6))
    if spent + estimate <= budget + SLACK_USD:
        return None
    return (f"over budget: lab {lab}'s budget for {month} is ${budget:,.2f}; its finished jobs cost "
            f"${spent:,.2f} this month and this submission is estimated at ${estimate:,.2f} "
            f"({datasets} dataset{'s' if datasets != 1 else ''} x {settings.expected_job_minutes:g} min at "
            f"${settings.hourly_price_usd:g}/h); ask the pipeline's operators to raise the budget, or "
            f"submit next month")
