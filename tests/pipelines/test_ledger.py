"""The token ledger: the balance is the sum; charge once, refund once, whatever the repeats."""

from __future__ import annotations

import threading
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import ledger
from tests.pipelines.helpers import make_dj

pytestmark = pytest.mark.stack


def test_the_balance_is_the_sum_of_the_entries_and_history_is_newest_first(stack) -> None:
    owner = make_dj(stack.service, grant=3)
    ledger.grant(stack.service, owner, 10, f"purchase:{uuid.uuid4()}", reason="purchase")
    ledger.charge(stack.service, owner, 4, "set:a")
    assert ledger.balance(stack.service, owner) == 9
    assert [e.reason for e in ledger.history(stack.service, owner)] == [
        "set_charge",
        "purchase",
        "signup_grant",
    ]


def test_a_dj_without_entries_has_a_zero_balance(stack) -> None:
    assert ledger.balance(stack.service, str(uuid.uuid4())) == 0


def test_charging_the_same_reference_twice_charges_once(stack) -> None:
    owner = make_dj(stack.service, grant=5)
    first, created_first = ledger.charge(stack.service, owner, 2, f"set:{owner}")
    again, created_again = ledger.charge(stack.service, owner, 2, f"set:{owner}")
    assert (created_first, created_again) == (True, False)
    assert again == first
    assert ledger.balance(stack.service, owner) == 3


def test_a_charge_above_the_balance_is_refused_and_writes_nothing(stack) -> None:
    owner = make_dj(stack.service, grant=1)
    with pytest.raises(ledger.InsufficientTokens) as refused:
        ledger.charge(stack.service, owner, 2, f"set:{uuid.uuid4()}")
    assert refused.value.balance == 1 and refused.value.price == 2
    assert ledger.balance(stack.service, owner) == 1


def test_a_refund_gives_back_the_charge_once_and_nothing_without_a_charge(stack) -> None:
    owner = make_dj(stack.service, grant=3)
    ledger.charge(stack.service, owner, 2, "set:r1")
    (_, first), (_, second) = (ledger.refund(stack.service, "set:r1") for _ in range(2))
    assert (first, second) == (True, False)
    assert ledger.refund(stack.service, "set:never-charged") is None
    assert ledger.balance(stack.service, owner) == 3


def test_two_sets_racing_for_the_last_token_charge_only_one(stack) -> None:
    owner = make_dj(stack.service, grant=1)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        try:
            ledger.charge(stack.service, owner, 1, f"set:race-{owner}-{n}", lock=stack.redis)
            outcomes.append("charged")
        except ledger.InsufficientTokens:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["charged", "refused", "refused", "refused"]
    assert ledger.balance(stack.service, owner) == 0


OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["charge", "refund"]), st.integers(0, 2)), min_size=1, max_size=8
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=OPERATIONS)
def test_any_sequence_of_repeated_charges_and_refunds_keeps_one_of_each(stack, operations) -> None:
    owner = make_dj(stack.service, grant=10)
    charged: set[int] = set()
    refunded: set[int] = set()
    for op, n in operations:
        reference = f"set:{owner}-{n}"
        if op == "charge" and n not in refunded:
            ledger.charge(stack.service, owner, 2, reference)
            charged.add(n)
        elif op == "refund" and ledger.refund(stack.service, reference) is not None:
            refunded.add(n)
    entries = ledger.history(stack.service, owner, limit=100)
    references = [e.reference for e in entries]
    assert len(references) == len(set(references))
    assert ledger.balance(stack.service, owner) == 10 - 2 * len(charged) + 2 * len(refunded)
    assert refunded <= charged
