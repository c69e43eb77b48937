"""Fixtures shared by every contract suite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ape import chain
from ape.exceptions import TransactionError
from ape_ethereum.trace import Trace

from indexer.deploy.create2 import DEFAULT_SALT, PROXY, create2_address, initcode, proxy_calldata


@pytest.fixture(scope="session", autouse=True)
def _plain_reverts():
    """Skip the revert diagnostics ape prints, which cost seconds per revert here.

    For every reverting transaction ape 0.8.51 maps each trace frame back to a Vyper source line (the
    "ape traceback") and ape-foundry 0.8.12 fetches and renders the full call tree, only for display:
    measured at 1-2 s per revert and 13 s for a reverting deployment. The revert reason `ape.reverts`
    matches comes from the RPC error, not from either.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionError, "_get_ape_traceback", lambda self: None)
        patch.setattr(Trace, "show", lambda self, *args, **kwargs: None)
        yield


@pytest.fixture(scope="session")
def deploy_through_proxy() -> Callable[..., tuple[Any, Any]]:
    """`deploy_through_proxy(container, *args, sender=account)`: create the contract the way the deploy tooling does
    (CREATE2 through the deterministic-deployment proxy, default salt); returns (instance, receipt) and checks that
    it landed at the predicted address."""

    def _deploy(container: Any, *args: Any, sender: Any, salt: str = DEFAULT_SALT) -> tuple[Any, Any]:
        contract_type = container.contract_type
        abi = [item.model_dump(mode="json", by_alias=True) for item in contract_type.abi]
        plain = [str(arg.address) if hasattr(arg, "address") else arg for arg in args]
        code = initcode(contract_type.deployment_bytecode.bytecode, abi, plain)
        receipt = sender.transfer(PROXY, 0, data=proxy_calldata(salt, code))
        address = create2_address(salt, code)
        assert chain.provider.get_code(address), f"nothing deployed at the predicted {address}"
        return container.at(address), receipt

    return _deploy


@pytest.fixture
def proxy_account(accounts: Any) -> Any:
    """The deterministic-deployment proxy as a sender (impersonated, funded): what a contract it created lets it do."""
    account = accounts[PROXY]
    account.balance += 10**20
    return account


# The named accounts of every contract suite, one table (ape's test accounts, each with a private key):
#   0 owner (the registry suite calls it deployer) | 1-3 alice, bob, carol (the deposits suite's senders)
#   4-5 the deposits suite's recipients | 6 relayer | 7 stranger (owns nothing, may do nothing)


@pytest.fixture(scope="session")
def owner(accounts: Any) -> Any:
    return accounts[0]


@pytest.fixture(scope="session")
def deployer(owner: Any) -> Any:
    return owner


@pytest.fixture(scope="session")
def alice(accounts: Any) -> Any:
    return accounts[1]


@pytest.fixture(scope="session")
def bob(accounts: Any) -> Any:
    return accounts[2]


@pytest.fixture(scope="session")
def carol(accounts: Any) -> Any:
    return accounts[3]


@pytest.fixture(scope="session")
def senders(accounts: Any) -> Any:
    return accounts[1:4]


@pytest.fixture(scope="session")
def sender(senders: Any) -> Any:
    return senders[0]


@pytest.fixture(scope="session")
def recipients(accounts: Any) -> Any:
    return accounts[4:6]


@pytest.fixture(scope="session")
def recipient(recipients: Any) -> Any:
    return recipients[0]


@pytest.fixture(scope="session")
def relayer(accounts: Any) -> Any:
    return accounts[6]


@pytest.fixture(scope="session")
def stranger(accounts: Any) -> Any:
    return accounts[7]
