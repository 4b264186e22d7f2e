"""The agent's loop keeps running when a receive fails (the network, the queue service): each
failure is logged with the backoff before the next try (1, 2, 4 ... seconds, capped), and the
next receive that works gets the job."""
from ncap_iac.worker.agent import RECEIVE_BACKOFF_CAP, Agent

from .faults import FailingSqs, connection_error
from .helpers import WRITE_RESULT, cloud, context, decisions, run_agent  # noqa: F401


def test_failed_receives_are_logged_with_a_backoff_and_the_agent_keeps_running(cloud, decisions, tmp_path):
    from dataclasses import replace

    cloud.submit("j1")
    ctx = context(cloud, WRITE_RESULT, tmp_path, max_jobs=1)
    sqs = FailingSqs(ctx.clients.sqs, receive_message=(connection_error, 2))
    ctx = replace(ctx, clients=replace(ctx.clients, sqs=sqs))
    assert run_agent(ctx) == 0
    failed = decisions.named("receive-failed")
    assert [(f["error"], f["retry_in"]) for f in failed] == [("EndpointConnectionError", 1.0),
                                                             ("EndpointConnectionError", 2.0)]
    assert decisions.outcomes() == ["success"] and cloud.status("j1")["status"] == "SUCCESS"
    assert decisions.named("stopped")[0]["handled"] == 1


def test_the_receive_backoff_is_capped(cloud, decisions, tmp_path):
    agent = Agent(context(cloud, WRITE_RESULT, tmp_path))
    agent.stopping.set()  # the wait before the next try returns at once
    agent.receive_failed(connection_error(), 12)
    assert decisions.named("receive-failed")[0]["retry_in"] == RECEIVE_BACKOFF_CAP == 30.0
