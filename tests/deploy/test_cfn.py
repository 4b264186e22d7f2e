"""Change sets: which kind a stack's state calls for, and how they are named."""
from datetime import UTC, datetime

import pytest

from ncap_iac.deploy.cfn import change_set_kind, change_set_name
from ncap_iac.errors import NcapError


def test_change_set_kind_follows_the_stack_state():
    assert change_set_kind(None, "p") == "CREATE"
    assert change_set_kind({"StackStatus": "REVIEW_IN_PROGRESS"}, "p") == "CREATE"
    assert change_set_kind({"StackStatus": "UPDATE_ROLLBACK_COMPLETE"}, "p") == "UPDATE"
    with pytest.raises(NcapError, match="stack p is busy \\(UPDATE_IN_PROGRESS\\)"):
        change_set_kind({"StackStatus": "UPDATE_IN_PROGRESS"}, "p")
    with pytest.raises(NcapError, match="ROLLBACK_COMPLETE after a failed first deployment.*ncap delete"):
        change_set_kind({"StackStatus": "ROLLBACK_COMPLETE"}, "p")
    assert change_set_name(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "ncap-20260102-030405"
