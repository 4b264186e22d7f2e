"""The pipeline's AWS budget: a monthly COST budget on the pipeline's tag whose limit is the sum of
the labs' budgets, alerting the operators by email at 80 % and at 100 % of actual spend.

Each submission is checked against its lab's budget by the submit function (its environment
carries the budgets and the price, see trigger.py); this budget watches the whole pipeline,
whatever it costs (instances, storage, functions, queues, logs), and catches what the per-lab
estimate cannot. Made only when every lab has a budget (else there is no total to watch). A warm
pool's stopped instances pay for their volumes all month whoever submits: the limit adds them
(Size x the volume's GiB x the gp3 price, where the price table has it)."""
from __future__ import annotations

from troposphere import AWSObject
from troposphere.budgets import Budget, BudgetData, Notification, NotificationWithSubscribers, Spend, Subscriber

from .. import names, prices
from ..config.budgets import MAX_SUBSCRIBERS
from ..config.model import StackConfig, Stage
from .tags import budget_filter

ALERT_PERCENTS = (80, 100)


def resources(config: StackConfig) -> list[AWSObject]:
    total = config.pipeline_budget_usd
    if total is None or total <= 0:  # AWS Budgets takes no zero limit; the labs are locked out anyway
        return []
    total += warm_pool_monthly_usd(config)
    budget = Budget(names.BUDGET, Budget=BudgetData(
        BudgetName=names.budget_name(config.pipeline_name), BudgetType="COST", TimeUnit="MONTHLY",
        BudgetLimit=Spend(Amount=round(total, 2), Unit="USD"), CostFilters=budget_filter(config)))
    emails = config.notifications.operator_emails[:MAX_SUBSCRIBERS]
    if emails:
        budget.NotificationsWithSubscribers = [_alert(percent, emails) for percent in ALERT_PERCENTS]
    return [budget]


def volume_month_usd(config: StackConfig, stage: Stage) -> float | None:
    """What one instance's root volume (gp3) of the stage costs in a 30-day month; None where the
    price table has no gp3 price for the region."""
    price = prices.gp3_gb_month(config.region)
    return None if price is None else stage.workers.volume_size_gib * price


def warm_pool_monthly_usd(config: StackConfig) -> float:
    """What the warm pools' stopped instances pay for their volumes in a 30-day month (0 where the
    price table has no gp3 price for the region)."""
    return sum(stage.scaling.warm_pool.size * (volume_month_usd(config, stage) or 0.0)
               for stage in config.worker_stages if stage.scaling.warm_pool is not None)


def _alert(percent: int, emails: tuple[str, ...]) -> NotificationWithSubscribers:
    return NotificationWithSubscribers(
        Notification=Notification(NotificationType="ACTUAL", ComparisonOperator="GREATER_THAN",
                                  Threshold=percent, ThresholdType="PERCENTAGE"),
        Subscribers=[Subscriber(SubscriptionType="EMAIL", Address=email) for email in emails])
