"""Gas benchmark: our contracts against ENS's published ones, on one anvil run.

    make bench-gas          # or: python -m bench.gas.run

Writes `bench/results/gas.json` and the table in `bench/README.md`. Every figure is `gas_used` of a mined
transaction (or `eth_estimateGas` for the view-only `resolveWithProof`), so it includes the 21,000 base cost
and calldata, exactly what a user pays.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from ape import accounts, chain, networks, project
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak

from bench.common import update_readme_table, write_result
from bench.gas.ens import container
from harness import signing

# A 500-byte dm3 profile record, the size of a real `network.dm3.profile` data URI.
PROFILE_VALUE = "data:application/json," + '{"profile":{' + "x" * (500 - 36) + "}}"
PROFILE_KEY = "network.dm3.profile"
TOKEN = 10**18
BURN_NOTE = (
    "destroying the tokens at once costs ~15k inside the token (cold call, balance and totalSupply writes, its "
    "Transfer log) and the balance check proving they were destroyed ~3k; meeting 45k would need deferred "
    "destruction, which the design rules out"
)


@dataclass
class Row:
    group: str
    operation: str
    ours: int
    reference: int | None
    reference_name: str
    target: str
    met: bool
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return round(self.ours / self.reference, 3) if self.reference else None


def gas(receipt: Any) -> int:
    return int(receipt.gas_used)


def namehash(name: str) -> bytes:
    node = b"\0" * 32
    if name:
        for label in reversed(name.split(".")):
            node = keccak(node + keccak(text=label))
    return node


def registry_rows(deployer: Any, user: Any) -> list[Row]:
    """ProfileRegistry against ENSRegistry + PublicResolver 0.3.1 doing the same work."""
    assert len(PROFILE_VALUE) == 500
    ens = container("ENSRegistry").deploy(sender=deployer)
    resolver = container("PublicResolver").deploy(ens.address, sender=deployer)
    for parent, label in (("", "eth"), ("eth", "dm3"), ("dm3.eth", "op")):
        ens.setSubnodeOwner(namehash(parent), keccak(text=label), deployer, sender=deployer)
    parent_node = namehash("op.dm3.eth")
    registry = project.ProfileRegistry.deploy("op.dm3.eth", sender=deployer)

    rows: list[Row] = []
    ens_register = gas(ens.setSubnodeOwner(parent_node, keccak(text="alice"), user, sender=deployer))
    ours_register = gas(registry.register("alice", user, sender=deployer))
    rows.append(
        Row(
            "registry",
            "register name",
            ours_register,
            ens_register,
            "ENSRegistry.setSubnodeOwner",
            "≤ 1.5x",
            ours_register <= 1.5 * ens_register,
            "also validates the label on-chain and emits NameRegistered",
        )
    )
    node = namehash("alice.op.dm3.eth")
    ens.setResolver(node, resolver.address, sender=user)

    def pair(operation: str, ours_call: Any, ens_call: Any, note: str = "") -> None:
        ours_gas, ens_gas = gas(ours_call()), gas(ens_call())
        rows.append(
            Row(
                "registry",
                operation,
                ours_gas,
                ens_gas,
                "PublicResolver",
                "≤ 1.0x",
                ours_gas <= ens_gas,
                note,
            )
        )

    pair(
        "setText 500 B (new)",
        lambda: registry.setText(node, PROFILE_KEY, PROFILE_VALUE, sender=user),
        lambda: resolver.setText(node, PROFILE_KEY, PROFILE_VALUE, sender=user),
    )
    overwrite = PROFILE_VALUE.replace("x", "y")
    pair(
        "setText 500 B (overwrite)",
        lambda: registry.setText(node, PROFILE_KEY, overwrite, sender=user),
        lambda: resolver.setText(node, PROFILE_KEY, overwrite, sender=user),
    )
    pair(
        "setAddr (coin 60)",
        lambda: registry.setAddr(node, user.address, sender=user),
        lambda: resolver.setAddr(node, user.address, sender=user),
    )
    base_coin = 0x80000000 | 8453
    pair(
        "setAddr (coinType)",
        lambda: registry.setAddrForCoin(node, base_coin, bytes.fromhex(user.address[2:]), sender=user),
        lambda: resolver.setAddr(node, base_coin, bytes.fromhex(user.address[2:]), sender=user),
    )
    ipfs = bytes.fromhex("e3010170122029f2d17be6139079dc48696d1f582a8530eb9805b561eda517e22a892c7e3f1f")
    pair(
        "setContenthash",
        lambda: registry.setContenthash(node, ipfs, sender=user),
        lambda: resolver.setContenthash(node, ipfs, sender=user),
    )
    return rows


def deposit_rows(deployer: Any, users: list[Any]) -> list[Row]:
    """InboxDeposits per operation against the targets of the deposits issue; the token against plain ERC-20."""
    sender, other, recipient, relayer = users
    token = project.Dm3Token.deploy(deployer, sender=deployer)
    deposits = project.InboxDeposits.deploy(token.address, 7 * 24 * 3600, deployer, sender=deployer)
    for account in (sender, other):
        token.mint(account, 1_000 * TOKEN, sender=deployer)
        token.approve(deposits.address, 2**256 - 1, sender=account)
    deposits.set_min_deposit(10 * TOKEN, sender=recipient)
    chain_id = chain.chain_id
    # A live contract already holds bonds and pending withdrawals: warm its totals and token balance with other
    # pairs first, so the rows measure the steady state, not the contract's very first deposit or request.
    token.mint(deployer, 100 * TOKEN, sender=deployer)
    token.approve(deposits.address, 2**256 - 1, sender=deployer)
    deposits.deposit(relayer, 1 * TOKEN, sender=deployer)
    deposits.deposit(recipient, 1 * TOKEN, sender=deployer)
    deposits.request_withdrawal(recipient, sender=deployer)  # total_pending is non-zero on a live contract

    rows: list[Row] = []

    def row(operation: str, used: int, limit: int, note: str = "") -> None:
        rows.append(Row("deposits", operation, used, None, "", f"≤ {limit // 1000}k", used <= limit, note))

    row("deposit (new pair)", gas(deposits.deposit(recipient, 10 * TOKEN, sender=sender)), 80_000)
    row("deposit (top-up)", gas(deposits.deposit(recipient, 1 * TOKEN, sender=sender)), 60_000)

    # deposit_with_permit: a fresh account with no allowance signs an EIP-2612 permit.
    permit_user = accounts.test_accounts[8]
    token.mint(permit_user, 100 * TOKEN, sender=deployer)
    deadline = chain.pending_timestamp + 3600
    v, r, s = signing.sign_permit(
        permit_user.private_key,
        token=token,
        name="dm3",
        chain_id=chain_id,
        owner=permit_user.address,
        spender=deposits.address,
        value=10 * TOKEN,
        nonce=token.nonces(permit_user),
        deadline=deadline,
    )
    receipt = deposits.deposit_with_permit(
        recipient,
        10 * TOKEN,
        deadline,
        v,
        r,
        s,
        sender=permit_user,
    )
    row(
        "deposit_with_permit (new pair)",
        gas(receipt),
        105_000,
        "the holder's first permit writes its token nonce slot from zero; 88.9k once it has signed one",
    )

    row("burn", gas(deposits.burn(sender, 1 * TOKEN, sender=recipient)), 45_000, BURN_NOTE)
    domain = signing.domain("InboxDeposits", chain_id=chain_id, verifying_contract=deposits.address)

    def relayed_burn() -> int:
        message = {
            "sender": sender.address,
            "recipient": recipient.address,
            "amount": 1 * TOKEN,
            "nonce": deposits.nonces(recipient),
            "deadline": deadline,
        }
        signature = signing.sign_write(recipient.private_key, "Burn", message, domain=domain)
        receipt = deposits.burn_with_sig(sender, recipient, 1 * TOKEN, deadline, signature, sender=relayer)
        return gas(receipt)

    row(
        "burn_with_sig (relayed, recipient's first signature)",
        relayed_burn(),
        60_000,
        "the first signature writes the recipient's nonce slot from zero (+17k)",
    )
    row(
        "burn_with_sig (relayed)",
        relayed_burn(),
        60_000,
        BURN_NOTE + "; the signature check ~8k (ecrecover 3k, the nonce slot 5k)",
    )
    row("release", gas(deposits.release(sender, sender=recipient)), 40_000)

    deposits.deposit(recipient, 10 * TOKEN, sender=other)
    row("request_withdrawal", gas(deposits.request_withdrawal(recipient, sender=other)), 40_000)
    chain.pending_timestamp += 7 * 24 * 3600
    row(
        "withdraw (after cooldown)",
        gas(deposits.withdraw(recipient, other, sender=other)),
        45_000,
        "token transfer out (cold call, two balance writes) + pair slot + totals slot",
    )

    plain = project.PlainERC20.deploy(sender=deployer)
    plain.mint(sender, 100 * TOKEN, sender=deployer)
    # Both transfers move tokens from a warm balance to an account that already holds some, the common case.
    plain.transfer(other, 1, sender=sender)
    ours_transfer = gas(token.transfer(other, 1 * TOKEN, sender=sender))
    plain_transfer = gas(plain.transfer(other, 1 * TOKEN, sender=sender))
    rows.append(
        Row(
            "token",
            "transfer",
            ours_transfer,
            plain_transfer,
            "snekmate erc20 (plain)",
            "≤ 1.0x",
            ours_transfer <= plain_transfer,
        )
    )
    return rows


def resolver_rows(deployer: Any) -> list[Row]:
    """resolveWithProof for a 500-byte text answer: Dm3Resolver against ENS's reference OffchainResolver."""
    gateway = Account.create()
    url = "http://127.0.0.1:8080/ccip/{sender}/{data}.json"
    ours = project.Dm3Resolver.deploy([url], [gateway.address], deployer, sender=deployer)
    reference = container("OffchainResolver").deploy(url, [gateway.address], sender=deployer)
    name = (
        b"".join(len(label).to_bytes(1, "big") + label for label in (b"alice", b"op", b"dm3", b"eth")) + b"\0"
    )
    data = bytes.fromhex("59d1d43c") + encode(
        ["bytes32", "string"], [namehash("alice.op.dm3.eth"), PROFILE_KEY]
    )
    request = bytes.fromhex("9061b923") + encode(["bytes", "bytes"], [name, data])
    result = encode(["string"], [PROFILE_VALUE])
    expires = int(time.time()) + 10 * 365 * 24 * 3600
    figures = []
    for resolver in (ours, reference):
        digest = keccak(
            b"\x19\x00"
            + bytes.fromhex(resolver.address[2:])
            + expires.to_bytes(8, "big")
            + keccak(request)
            + keccak(result)
        )
        signature = gateway.unsafe_sign_hash(digest).signature
        response = encode(["bytes", "uint64", "bytes"], [result, expires, signature])
        calldata = resolver.resolveWithProof.encode_input(response, request)
        web3 = networks.provider.web3
        figures.append(web3.eth.estimate_gas({"to": resolver.address, "data": calldata}))
    return [
        Row(
            "resolver",
            "resolveWithProof, 500 B text",
            figures[0],
            figures[1],
            "ENS OffchainResolver 0.2.1",
            "≤ 1.0x",
            figures[0] <= figures[1],
            "eth_estimateGas of the callback a client makes",
        )
    ]


def table(rows: list[Row]) -> str:
    lines = [
        "| group | operation | ours | reference | ratio | target | met |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for r in rows:
        reference = f"{r.reference:,} ({r.reference_name})" if r.reference else "—"
        ratio = f"{r.ratio:.2f}" if r.ratio else "—"
        met = "yes" if r.met else f"**no**: {r.note}"
        lines.append(
            f"| {r.group} | {r.operation} | {r.ours:,} | {reference} | {ratio} | {r.target} | {met} |"
        )
    return "\n".join(lines)


def main() -> None:
    with networks.parse_network_choice("ethereum:local:foundry"):
        test = accounts.test_accounts
        rows = registry_rows(test[0], test[1])
        rows += deposit_rows(test[0], [test[2], test[3], test[4], test[5]])
        rows += resolver_rows(test[0])
    text = table(rows)
    path = write_result(
        "gas",
        {"unit": "gas per transaction (gas_used)", "rows": [asdict(r) | {"ratio": r.ratio} for r in rows]},
    )
    update_readme_table("gas", text)
    print(text)
    print(f"\nwritten: {path}")


if __name__ == "__main__":
    main()
