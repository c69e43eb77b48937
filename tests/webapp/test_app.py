"""The inbox app in real Chromium against the devnet: every flow a person walks, with the chain's state and the
API's answers checked afterwards, and every error a person can hit with its message and way forward.

One devnet and one browser for the module; each test plays its own dev accounts, so the tests do not interfere.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address

from harness.webapp import OP, TOKEN, account, connect, screenshot
from indexer.dm3.profile import PROFILE_KEY, canonical_json, profile_creation_message
from indexer.gateway.codec import namehash

BASE = 8453
L1 = 31337
OWNER = account(0)  # owns the contracts on the devnet (pause)
RITA = account(1)  # an inbox with a price (reach, errors)
SENDER = account(2)  # pays rita's price
BONDER = account(3)  # holds a bond and takes it back
PRICER = account(4)  # sets prices; holds no tokens
JUDGE = account(5)  # burns and accepts
SPAMMER = account(6)
FRIEND = account(7)
PUBLISHER = account(8)  # creates and publishes a profile


@pytest.fixture(scope="module")
def rita(devnet):
    """rita.op.dm3.eth asks 10 DM3 on Optimism."""
    op = devnet.op
    op.send(op.registry.functions.register("rita", RITA.address), RITA.address)
    op.send(op.deposits.functions.set_min_deposit(10 * TOKEN), RITA.address)
    devnet.wait_indexed(OP)
    return "rita.op.dm3.eth"


def look_up(page, target):
    page.get_by_label("Name or address").fill(target)
    page.get_by_role("button", name="Look up").click()


def status_of(page, selector):
    """Wait until the status area leaves "pending" and return (state, text)."""
    area = page.locator(selector)
    try:
        page.wait_for_selector(
            f"{selector}[data-state=ok], {selector}[data-state=error], {selector}[data-state=info]"
        )
    except Exception:
        print(f"{selector} stuck at: {area.all_inner_texts()}")
        raise
    return area.get_attribute("data-state"), area.inner_text()


def open_inbox(page, *, gasless: bool = False) -> None:
    """The "My inbox" tab, drawn: its forms are not replaced under the test's typing (the panel is `aria-busy` while
    it renders; the tab, connecting and the mode switch each render it)."""
    page.get_by_role("button", name="My inbox").click()
    if gasless:
        page.get_by_label("Gasless: I sign, the relayer sends it").check()
    page.wait_for_selector("#inbox:not([aria-busy])")


# --- reach someone ------------------------------------------------------------------------------------------------


def test_reach__deposit_with_permit_turns_eligible_live(devnet, open_app, rita):
    op = devnet.op
    op.mint(SENDER.address, 100 * TOKEN)
    page = open_app(SENDER)
    connect(page)
    look_up(page, rita)
    assert page.locator("#recipient-address").inner_text() == to_checksum_address(RITA.address)
    assert page.locator(f"#price-{OP}").inner_text() == "Price: 10 DM3"
    assert page.locator("#reach-verdict").get_attribute("data-eligible") == "false"
    assert page.locator(f"#deposit-amount-{OP}").input_value() == "10"

    page.get_by_role("button", name="Deposit on Optimism").click()
    page.wait_for_selector("#reach-verdict[data-eligible=true]")  # live, from the change stream
    assert "You can reach rita.op.dm3.eth" in page.locator("#reach-verdict").inner_text()
    assert status_of(page, f"#deposit-status-{OP}") == ("ok", "Deposited 10 DM3 for rita.op.dm3.eth.")
    screenshot(page, "reach")

    assert op.bond(SENDER.address, RITA.address) == (10 * TOKEN, 0, False)
    # The permit path: one token nonce used, no allowance left over, one transaction.
    assert op.token.functions.nonces(SENDER.address).call() == 1
    assert op.token.functions.allowance(SENDER.address, op.deposits.address).call() == 0
    answer = devnet.api("/v1/eligibility", sender=SENDER.address, recipient=rita)
    assert (answer["eligible"], answer["reason"]) == (True, "deposit")


def test_reach__by_address_shows_profile_and_every_chain(devnet, open_app, rita):
    page = open_app(SENDER)
    look_up(page, RITA.address.lower())
    assert page.locator("#recipient-address").inner_text() == to_checksum_address(RITA.address)
    assert (
        page.locator("#recipient-name").inner_text() == "no primary name"
    )  # looked up by address, no profile
    assert (
        page.locator("#reach-verdict").inner_text()
        == "Connect your wallet to see whether you can reach this inbox."
    )
    assert page.locator(f"#price-{BASE}").inner_text() == "Open inbox: no deposit needed"


# --- my bonds -----------------------------------------------------------------------------------------------------


def test_bonds__top_up_request_withdrawal_countdown_then_withdraw(devnet, open_app, rita):
    op = devnet.op
    op.deposit(BONDER.address, RITA.address, 5 * TOKEN)
    op.mint(BONDER.address, 2 * TOKEN)
    devnet.wait_indexed(OP)
    row = f"{OP}-{RITA.address.lower()}"

    page = open_app(BONDER)
    connect(page)
    page.get_by_role("button", name="My bonds").click()
    page.wait_for_selector(f"[data-bond='{row}']")
    assert "5 DM3 for" in page.locator(f"[data-bond='{row}']").inner_text()
    assert page.locator(f"#bond-state-{row}").inner_text() == "Active: it lets your messages in."
    assert page.locator(f"#withdraw-{row}").is_disabled()

    page.locator(f"#topup-{row}").fill("2")
    page.locator(f"#topup-button-{row}").click()
    assert status_of(page, f"#bond-status-{row}") == ("ok", "Topped up by 2 DM3.")
    assert op.bond(BONDER.address, RITA.address)[0] == 7 * TOKEN
    page.wait_for_selector(f"[data-bond='{row}'] >> text=7 DM3 for")

    page.locator(f"#request-{row}").click()
    assert status_of(page, f"#bond-status-{row}")[0] == "ok"
    amount, unlock_time, _ = op.bond(BONDER.address, RITA.address)
    assert amount == 7 * TOKEN and unlock_time > 0
    page.wait_for_selector(f"#bond-state-{row} >> text=Withdrawal requested: unlocks in 6 d 23 h")
    assert page.locator(f"#withdraw-{row}").is_disabled()
    screenshot(page, "bonds")
    assert (
        devnet.api("/v1/eligibility", sender=BONDER.address, recipient=rita)["reason"] == "withdrawal_pending"
    )

    # A week passes on the chain: the countdown follows the chain's clock, not the browser's.
    op.rpc("evm_increaseTime", [7 * 86400])
    op.rpc("evm_mine", [])
    devnet.wait_indexed(OP)
    page = open_app(BONDER)
    connect(page)
    page.get_by_role("button", name="My bonds").click()
    page.wait_for_selector(f"#bond-state-{row} >> text=Unlocked: withdraw now.")
    page.locator(f"#withdraw-{row}").click()
    assert status_of(page, f"#bond-status-{row}") == ("ok", f"Withdrawn to {BONDER.address}.")
    assert op.bond(BONDER.address, RITA.address) == (0, 0, False)
    assert op.token.functions.balanceOf(BONDER.address).call() == 7 * TOKEN
    bonds = devnet.api("/v1/deposits", sender=BONDER.address)["data"]
    assert [(b["bond"], b["withdrawal_pending"]) for b in bonds] == [("0", False)]


# --- my inbox -----------------------------------------------------------------------------------------------------


def test_inbox__set_price_then_open_it(devnet, open_app):
    op = devnet.op
    page = open_app(PRICER)
    connect(page)
    open_inbox(page)
    page.locator(f"#price-input-{OP}").fill("2.5")
    page.locator(f"[data-chain='{OP}']").get_by_role("button", name="Set price").click()
    assert status_of(page, f"#price-status-{OP}") == ("ok", "Your price on Optimism is 2.5 DM3.")
    assert op.deposits.functions.min_deposit(PRICER.address).call() == 25 * TOKEN // 10
    page.wait_for_selector(f"#my-price-{OP} >> text=Price: 2.5 DM3")
    chains = {c["envelope"]["chain_id"]: c for c in devnet.api(f"/v1/recipients/{PRICER.address}")["chains"]}
    assert chains[OP]["min_deposit"] == str(25 * TOKEN // 10)

    page.locator(f"#open-{OP}").click()
    assert status_of(page, f"#price-status-{OP}") == (
        "ok",
        "Your inbox on Optimism is open: anyone may write.",
    )
    assert op.deposits.functions.min_deposit(PRICER.address).call() == 0
    page.wait_for_selector(f"#my-price-{OP} >> text=Open inbox: anyone may write")


def test_inbox__a_refresh_while_typing_keeps_the_text_the_focus_and_the_caret(devnet, open_app):
    page = open_app(PRICER)
    connect(page)
    open_inbox(page)
    field = page.locator(f"#price-input-{OP}")
    field.click()
    page.keyboard.type("12")
    page.keyboard.press("ArrowLeft")  # the caret between 1 and 2
    field.evaluate("el => { el.dataset.drawn = 'before' }")
    # A live refresh that does not move the focus (the mode radio changed by script, as another tab's event would).
    page.evaluate(
        """() => {
            const radio = document.querySelector('input[name="inbox-mode"][value="relay"]');
            radio.checked = true;
            radio.dispatchEvent(new Event("change"));
        }"""
    )
    page.wait_for_selector("#inbox:not([aria-busy])")
    assert field.get_attribute("data-drawn") is None  # a new field took the old one's place
    page.keyboard.type("5")
    assert field.input_value() == "152"
    assert page.evaluate("document.activeElement.id") == f"price-input-{OP}"


def test_inbox__burn_part_of_a_bond_and_accept_a_sender(devnet, open_app):
    op = devnet.op
    op.send(op.deposits.functions.set_min_deposit(4 * TOKEN), JUDGE.address)
    op.deposit(SPAMMER.address, JUDGE.address, 4 * TOKEN)
    op.deposit(FRIEND.address, JUDGE.address, 4 * TOKEN)
    devnet.wait_indexed(OP)
    spam, friend = f"{OP}-{SPAMMER.address.lower()}", f"{OP}-{FRIEND.address.lower()}"

    page = open_app(JUDGE)
    connect(page)
    open_inbox(page)
    page.wait_for_selector(f"[data-sender='{spam}']")
    assert page.locator(f"#burn-amount-{spam}").input_value() == "4"
    page.locator(f"#burn-amount-{spam}").fill("1.5")
    page.locator(f"#burn-{spam}").click()
    assert status_of(page, f"#sender-status-{spam}")[1].startswith("Burned 1.5 DM3 of ")
    assert op.bond(SPAMMER.address, JUDGE.address) == (25 * TOKEN // 10, 0, False)

    page.locator(f"#accept-{friend}").click()
    assert status_of(page, f"#sender-status-{friend}")[1].startswith("Accepted ")
    assert op.bond(FRIEND.address, JUDGE.address) == (4 * TOKEN, 0, True)

    page.wait_for_selector("#history-list li >> nth=1")
    history = page.locator("#history-list").inner_text()
    assert "Burned 1.5 DM3 of" in history and "Accepted" in history
    assert to_checksum_address(SPAMMER.address) in history
    screenshot(page, "inbox")
    assert (
        devnet.api("/v1/eligibility", sender=FRIEND.address, recipient=JUDGE.address)["reason"] == "accepted"
    )
    assert devnet.api("/v1/eligibility", sender=SPAMMER.address, recipient=JUDGE.address)["reason"] == (
        "insufficient_deposit"
    )


# --- my profile ---------------------------------------------------------------------------------------------------


def test_profile__create_keys_sign_download_publish_and_register(devnet, open_app, tmp_path):
    op = devnet.op
    page = open_app(PUBLISHER)
    sent = []  # every request the page makes: the private keys must be in none of them
    page.on("request", lambda r: sent.append((r.url, r.post_data or "")))
    connect(page)
    page.get_by_role("button", name="My profile").click()
    page.wait_for_selector("#my-profile >> text=You publish no dm3 profile yet")
    page.get_by_label("Delivery services").fill("ds.op.dm3.eth, ds.base.dm3.eth")
    page.get_by_role("button", name="Create keys and sign my profile").click()
    assert status_of(page, "#profile-status")[0] == "ok"
    record = page.locator("#profile-record").inner_text()

    with page.expect_download() as download:
        page.locator("#download-keys").click()
    keys = json.loads(download.value.path().read_text())
    assert download.value.suggested_filename == f"dm3-keys-{PUBLISHER.address}.json"
    signed = keys["signedUserProfile"]
    assert record == "data:application/json," + canonical_json(signed)
    profile = signed["profile"]
    assert profile["deliveryServices"] == ["ds.op.dm3.eth", "ds.base.dm3.eth"]
    assert profile["publicEncryptionKey"] == keys["encryptionKeyPair"]["publicKey"]
    assert profile["publicSigningKey"] == keys["signingKeyPair"]["publicKey"]
    assert len(base64.b64decode(keys["encryptionKeyPair"]["privateKey"])) == 32
    signing_secret = base64.b64decode(keys["signingKeyPair"]["privateKey"])
    assert len(signing_secret) == 64 and signing_secret[32:] == base64.b64decode(profile["publicSigningKey"])
    # The wallet signed dm3's exact profile creation message.
    message = profile_creation_message(address=PUBLISHER.address, canonical_profile=canonical_json(profile))
    recovered = Account.recover_message(encode_defunct(text=message), signature=signed["signature"])
    assert recovered == PUBLISHER.address

    address_name = f"{PUBLISHER.address[2:].lower()}.addr.op.dm3.eth"
    assert page.locator("#publish-name").input_value() == address_name
    page.locator("#publish-direct").click()
    state, text = status_of(page, "#publish-status")
    assert (state, text) == (
        "ok",
        f"Published on {address_name}: every ENS client now reads it (signature valid).",
    )
    node = op.registry.functions.addr_name_node(PUBLISHER.address).call()
    assert op.registry.functions.text(node, PROFILE_KEY).call() == record
    answer = devnet.api(f"/v1/addresses/{PUBLISHER.address}/profile")
    assert answer["texts"][PROFILE_KEY] == record
    assert answer["dm3_profile"]["signature_valid"] is True
    page.wait_for_selector("#my-profile-signature >> text=valid ✓")
    screenshot(page, "profile")

    page.get_by_label("Name", exact=True).fill("pat")
    page.get_by_role("button", name="Register as my transaction").click()
    assert status_of(page, "#register-status") == (
        "ok",
        "pat.op.dm3.eth is yours. Publish your profile on it, or keep using your address name.",
    )
    assert op.registry.functions.owner(namehash("pat.op.dm3.eth")).call() == PUBLISHER.address
    assert page.locator("#publish-name").input_value() == "pat.op.dm3.eth"

    for private in (keys["encryptionKeyPair"]["privateKey"], keys["signingKeyPair"]["privateKey"]):
        assert not any(private in url or private in body for url, body in sent)


# --- gasless, through the relayer ---------------------------------------------------------------------------------


def _need_relayer(devnet):
    if not devnet.relay_available():
        pytest.fail("the devnet's relayer for Optimism did not come up within 30 s (/v1/relay/config)")


def test_gasless__burn_through_the_relayer(devnet, open_app):
    _need_relayer(devnet)
    op = devnet.op
    op.deposit(SPAMMER.address, PRICER.address, 3 * TOKEN)
    devnet.wait_indexed(OP)
    row = f"{OP}-{SPAMMER.address.lower()}"
    page = open_app(PRICER)
    connect(page)
    open_inbox(page, gasless=True)
    page.locator(f"#burn-amount-{row}").fill("1")
    page.locator(f"#burn-{row}").click()
    state, text = status_of(page, f"#sender-status-{row}")
    assert state == "ok", text
    assert op.bond(SPAMMER.address, PRICER.address)[0] == 2 * TOKEN
    assert op.deposits.functions.nonces(PRICER.address).call() >= 1


def test_gasless__publish_a_profile_through_the_relayer(devnet, open_app):
    _need_relayer(devnet)
    page = open_app(FRIEND)
    connect(page)
    page.get_by_role("button", name="My profile").click()
    page.get_by_label("Delivery services").fill("ds.op.dm3.eth")
    page.get_by_role("button", name="Create keys and sign my profile").click()
    record = page.locator("#profile-record").inner_text()
    page.locator("#publish-relay").click()
    assert status_of(page, "#publish-status")[0] == "ok"
    answer = devnet.api(f"/v1/addresses/{FRIEND.address}/profile")
    assert answer["texts"][PROFILE_KEY] == record and answer["dm3_profile"]["signature_valid"] is True


def test_gasless__relayer_quota_says_when_and_offers_a_transaction(devnet, open_app):
    _need_relayer(devnet)
    page = open_app(PRICER)
    connect(page)
    open_inbox(page, gasless=True)
    for _ in range(
        20
    ):  # until the relayer's quota for this account (12 here, see harness.webapp) answers 429
        page.locator(f"#price-input-{OP}").fill("1")
        page.locator(f"[data-chain='{OP}']").get_by_role("button", name="Set price").click()
        state, text = status_of(page, f"#price-status-{OP}")
        if state == "error":
            break
    assert "quota" in text
    page.locator(f"#price-status-{OP}").get_by_role("button", name="Send as my own transaction").click()
    assert status_of(page, f"#price-status-{OP}")[0] == "ok"


# --- errors a person can hit --------------------------------------------------------------------------------------


def test_error__wrong_network_banner_switches_the_wallet(devnet, open_app):
    page = open_app(SENDER, chain_id=L1)
    connect(page)
    banner = page.locator("#banner")
    assert "Wrong network: your wallet is on chain 31337" in banner.inner_text()
    banner.get_by_role("button", name="Switch to Optimism").click()
    page.wait_for_selector("#network >> text=Optimism (10)")
    assert banner.is_hidden()
    assert page.evaluate("window.__wallet.chainId") == OP


def test_error__deposit_on_another_chain_offers_the_switch(devnet, open_app, rita):
    page = open_app(SENDER, chain_id=BASE)
    connect(page)
    look_up(page, rita)
    page.locator(f"#deposit-amount-{OP}").fill("1")
    page.get_by_role("button", name="Deposit on Optimism").click()
    state, text = status_of(page, f"#deposit-status-{OP}")
    assert (state, text.splitlines()[0]) == (
        "error",
        "Your wallet is on chain 8453; this needs Optimism (chain 10).",
    )
    page.locator(f"#deposit-status-{OP}").get_by_role("button", name="Switch to Optimism").click()
    page.wait_for_selector("#network >> text=Optimism (10)")


def test_error__rejected_signature_changes_nothing_and_offers_a_retry(devnet, open_app, rita):
    op = devnet.op
    op.mint(SENDER.address, 5 * TOKEN)
    before = op.bond(SENDER.address, RITA.address)
    page = open_app(SENDER)
    connect(page)
    look_up(page, rita)
    page.evaluate("window.__wallet.decline.add('sign')")
    page.locator(f"#deposit-amount-{OP}").fill("1")
    page.get_by_role("button", name="Deposit on Optimism").click()
    state, text = status_of(page, f"#deposit-status-{OP}")
    assert state == "error"
    assert text.startswith("You declined the request in your wallet. Nothing was signed or sent")
    assert op.bond(SENDER.address, RITA.address) == before
    page.evaluate("window.__wallet.decline.clear()")
    page.locator(f"#deposit-status-{OP}").get_by_role("button", name="Try again").click()
    assert status_of(page, f"#deposit-status-{OP}")[0] == "ok"
    assert op.bond(SENDER.address, RITA.address)[0] == before[0] + TOKEN


def test_error__not_enough_tokens_says_how_many(devnet, open_app, rita):
    page = open_app(PRICER)  # holds no DM3
    connect(page)
    look_up(page, rita)
    page.get_by_role("button", name="Deposit on Optimism").click()
    assert status_of(page, f"#deposit-status-{OP}") == (
        "error",
        "You hold 0 DM3 on Optimism; this deposit needs 10 DM3. Get 10 more DM3, or deposit less.",
    )
    assert page.evaluate("window.__wallet.log").count("eth_signTypedData_v4") == 0


def test_error__paused_deposits_explained(devnet, open_app, rita):
    op = devnet.op
    op.mint(SPAMMER.address, 10 * TOKEN)
    op.send(op.deposits.functions.pause(), OWNER.address)
    try:
        page = open_app(SPAMMER)
        connect(page)
        look_up(page, rita)
        page.get_by_role("button", name="Deposit on Optimism").click()
        state, text = status_of(page, f"#deposit-status-{OP}")
        assert state == "error"
        assert text.startswith(
            "New deposits are paused on Optimism by the contract's owner. Your bonds are safe"
        )
        assert op.bond(SPAMMER.address, RITA.address)[0] == 0
    finally:
        op.send(op.deposits.functions.unpause(), OWNER.address)


def test_error__unknown_name_and_malformed_input(devnet, open_app):
    page = open_app(SENDER)
    look_up(page, "nobody.op.dm3.eth")
    assert status_of(page, "#reach-status") == (
        "error",
        "No name nobody.op.dm3.eth in this registry. Check the spelling, or enter the address instead.",
    )
    look_up(page, "not a name")
    assert status_of(page, "#reach-status")[1] == (
        "Enter a name like alice.op.dm3.eth or a 0x address (40 hex digits)."
    )
    look_up(page, "0x1234")
    assert status_of(page, "#reach-status")[0] == "error"


def test_error__no_wallet_in_the_browser(devnet, open_app):
    page = open_app(None, wallet=False)
    page.get_by_role("button", name="Connect wallet").click()
    page.locator("#banner").wait_for()
    assert page.locator("#banner").inner_text().startswith("No wallet found in this browser.")


def test_error__declined_connection_offers_to_connect_again(devnet, open_app):
    page = open_app(SENDER)
    page.evaluate("window.__wallet.decline.add('connect')")
    page.get_by_role("button", name="Connect wallet").first.click()
    banner = page.locator("#banner")
    banner.wait_for()
    assert banner.inner_text().startswith("You declined the connection in your wallet.")
    page.evaluate("window.__wallet.decline.clear()")
    banner.get_by_role("button", name="Connect wallet").click()
    page.wait_for_selector("#account")


def test_error__api_down_page_says_so(devnet, open_app, browser_context):
    page = browser_context.new_page()
    try:
        page.route(
            "**/v1/status", lambda route: route.fulfill(status=503, json={"message": "database unavailable"})
        )
        page.goto(f"{devnet.api_url}/app/")
        assert status_of(page, "#reach-status")[1].startswith(
            "database unavailable. Reload when the registry is back."
        )
    finally:
        page.close()


# --- keyboard and phone width -------------------------------------------------------------------------------------


def test_keyboard_only_on_a_phone_width_screen(devnet, open_app, rita):
    page = open_app(SENDER, viewport={"width": 375, "height": 800})
    page.keyboard.press("Tab")  # skip link
    page.keyboard.press("Tab")  # connect
    page.keyboard.press("Enter")
    page.wait_for_selector("#account")
    page.locator("#reach-target").focus()
    page.keyboard.type(rita)
    page.keyboard.press("Enter")
    page.wait_for_selector("#reach-verdict[data-eligible=true]")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways on a phone ({width}px)"
    screenshot(page, "phone")


def test_front_page_links_the_app_and_everything_is_served_locally(devnet, open_app):
    front = httpx.get(f"{devnet.api_url}/", timeout=5)
    assert front.status_code == 200 and 'href="/app/"' in front.text
    page = open_app(SENDER)
    hosts = page.evaluate("performance.getEntriesByType('resource').map((e) => new URL(e.name).host)")
    assert set(hosts) <= {devnet.api_url.removeprefix("http://")}
    csp = httpx.get(f"{devnet.api_url}/app/", timeout=5).headers["content-security-policy"]
    assert "default-src 'self'" in csp
