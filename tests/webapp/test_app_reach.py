"""Reach someone: look up an inbox, deposit its price with a permit, and turn eligible live."""

from __future__ import annotations

from eth_utils import to_checksum_address
from webapp_support import OP, TOKEN, account, connect, screenshot

RECIPIENT = account(1)
SENDER = account(2)


def test_reach__deposit_with_permit_turns_eligible_live(devnet, open_app):
    op = devnet.op
    op.send(op.registry.functions.register("rita", RECIPIENT.address), RECIPIENT.address)
    op.send(op.deposits.functions.set_min_deposit(10 * TOKEN), RECIPIENT.address)
    op.mint(SENDER.address, 100 * TOKEN)
    devnet.wait_indexed(OP)

    page = open_app(SENDER)
    connect(page)
    page.get_by_label("Name or address").fill("rita.op.dm3.eth")
    page.get_by_role("button", name="Look up").click()
    assert page.locator("#recipient-address").inner_text() == to_checksum_address(RECIPIENT.address)
    assert page.locator(f"#price-{OP}").inner_text() == "Price: 10 DM3"
    assert page.locator("#reach-verdict").get_attribute("data-eligible") == "false"
    assert page.locator(f"#deposit-amount-{OP}").input_value() == "10"

    page.get_by_role("button", name="Deposit on Optimism").click()
    page.wait_for_selector("#reach-verdict[data-eligible=true]")
    assert "You can reach rita.op.dm3.eth" in page.locator("#reach-verdict").inner_text()
    assert "Deposited 10 DM3" in page.locator(f"#deposit-status-{OP}").inner_text()
    screenshot(page, "reach")

    amount, unlock_time, accepted = op.bond(SENDER.address, RECIPIENT.address)
    assert (amount, unlock_time, accepted) == (10 * TOKEN, 0, False)
    # The permit path: one token nonce used, no allowance left over.
    assert op.token.functions.nonces(SENDER.address).call() == 1
    assert op.token.functions.allowance(SENDER.address, op.deposits.address).call() == 0
    answer = devnet.api("/v1/eligibility", sender=SENDER.address, recipient="rita.op.dm3.eth")
    assert (answer["eligible"], answer["reason"]) == (True, "deposit")
