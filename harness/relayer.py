"""Test support for the relayer suite and benchmark: one anvil with the dm3 contracts and the
RelayBatcher, an indexed database, the API app with the relay routes, and the sender in-process or as a process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.engine import Engine
from web3 import Web3

from harness.devnet import ROOT, Anvil, Contract, Devnet, free_port
from harness.indexer import fresh_engine, sync_ok
from indexer import signing
from indexer.api.main import create_app
from indexer.chain.rpc import RpcClient
from indexer.relayer.sender import Sender
from indexer.settings.api import ApiSettings
from indexer.settings.relayer import RelayChain, RelayerSettings
from indexer.store.relay_models import RelayRequest, RelayTx

__all__ = [
    "RELAYER_KEY",
    "ROOT",
    "Anvil",
    "Contract",
    "Devnet",
    "RelayEnv",
    "free_port",
    "fresh_engine",
    "sync_ok",
]

RELAYER_KEY = "0x" + "5e" * 32
FAR = 2**40  # a deadline far in the future


def user(n: int) -> LocalAccount:
    """A fixed key with no ETH."""
    return Account.from_key("0x" + f"{n:02x}" * 32)


class RelayEnv:
    """Everything one relayer test needs on one anvil and one database."""

    def __init__(self, devnet: Devnet, db_url: str, batcher: Contract, **limits: Any) -> None:
        self.devnet = devnet
        self.anvil = devnet.anvil
        self.chain_id = devnet.anvil.chain_id
        self.db_url = db_url
        self.engine: Engine = fresh_engine(db_url)
        self.batcher = batcher
        self.relayer = Account.from_key(RELAYER_KEY)
        self.anvil.rpc("anvil_setBalance", [self.relayer.address, hex(10**20)])
        self.settings = RelayerSettings(
            database_url=db_url,
            chains=[RelayChain(chain_id=self.chain_id, rpc_url=self.anvil.url, batcher=batcher.address)],
            private_key=SecretStr(RELAYER_KEY),
            **{"poll_interval": 0.05, "deadline_margin": 5, **limits},
        )
        self.spec = devnet.spec()
        self.index()
        self.loop = asyncio.new_event_loop()
        self.rpc = RpcClient(self.anvil.url, chain="test")
        self.sender = Sender(
            self.settings, chain_id=self.chain_id, engine=self.engine, account=self.relayer, rpc=self.rpc
        )
        self.loop.run_until_complete(self.sender.start())
        self.step()  # records the balance
        self.app = create_app(ApiSettings(database_url=db_url, relayer=self.settings))
        self.client = TestClient(self.app, raise_server_exceptions=False)
        self.client.__enter__()

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.sender.lease.release()
        self.sender.reader.dispose()
        self.loop.run_until_complete(self.rpc.aclose())
        self.loop.close()
        self.app.state.engine.dispose()
        self.engine.dispose()

    def index(self) -> None:
        sync_ok(self.engine, [self.spec])

    def step(self, times: int = 1) -> None:
        for _ in range(times):
            self.loop.run_until_complete(self.sender.step())

    def contract_of(self, function: str) -> Contract:
        kind = signing.SIGNED_FUNCTIONS[function].contract
        return self.devnet.registry if kind == "ProfileRegistry" else self.devnet.deposits

    def nonce(self, function: str, signer: str) -> int:
        return int(self.contract_of(function).view("nonces", Web3.to_checksum_address(signer)))

    def body(
        self,
        function: str,
        account: LocalAccount,
        /,
        *,
        nonce: int | None = None,
        deadline: int = FAR,
        **fields: Any,
    ) -> dict[str, Any]:
        """A signed `POST /v1/relay` body; the signer field defaults to `account`'s address."""
        spec = signing.SIGNED_FUNCTIONS[function]
        message = {spec.signer_field: account.address, **fields}
        message["nonce"] = self.nonce(function, message[spec.signer_field]) if nonce is None else nonce
        message["deadline"] = deadline
        contract = self.contract_of(function)
        signature = signing.sign(
            function,
            message,
            account.key,
            chain_id=self.chain_id,
            verifying_contract=Web3.to_checksum_address(contract.address),
        )
        return {
            "chain_id": self.chain_id,
            "function": function,
            "message": _json(message),
            "signature": "0x" + signature.hex(),
        }

    def post(self, body: Any) -> Any:
        return self.client.post("/v1/relay", json=body)

    def status(self, request_id: str) -> dict[str, Any]:
        response = self.client.get(f"/v1/relay/{request_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def until(self, request_id: str, state: str, *, steps: int = 40) -> dict[str, Any]:
        for _ in range(steps):
            current = self.status(request_id)
            if current["state"] == state:
                return current
            self.step()
        raise AssertionError(f"{request_id} is {self.status(request_id)}, not {state}")

    def requests(self) -> list[dict[str, Any]]:
        table = RelayRequest.__table__  # type: ignore[attr-defined]
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(table).order_by(table.c.seq)).mappings()]

    def txs(self) -> list[dict[str, Any]]:
        table = RelayTx.__table__  # type: ignore[attr-defined]
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]

    def process_env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DM3_DATABASE_URL": self.db_url,
            "DM3_RELAYER_PRIVATE_KEY": RELAYER_KEY,
            "DM3_RELAYER_CHAINS": (
                f'[{{"chain_id": {self.chain_id}, "rpc_url": "{self.anvil.url}", "batcher": "{self.batcher.address}"}}]'
            ),
            "DM3_RELAYER_POLL_INTERVAL": "0.05",
            "DM3_RELAYER_DEADLINE_MARGIN": "5",
            **extra,
        }

    def spawn(self, **extra: str) -> subprocess.Popen[bytes]:
        """`dm3-relayer run` as a process (the in-process sender must have released the lease)."""
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "indexer.relayer",
                "run",
                "--chain-id",
                str(self.chain_id),
                "--log-level",
                "WARNING",
            ],
            env=self.process_env(**extra),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )


def relay_changes(env: RelayEnv) -> list[dict[str, Any]]:
    """Every relay row of the change feed (`/v1/changes/poll?kinds=relay` from the start, page by page)."""
    rows: list[dict[str, Any]] = []
    cursor = 0
    while True:
        response = env.client.get(
            "/v1/changes/poll", params={"cursor": cursor, "kinds": "relay", "timeout": 0}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        rows += page["data"]
        if page["next_cursor"] == cursor:
            return rows
        cursor = page["next_cursor"]


def wait_exit(proc: subprocess.Popen[bytes], timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        assert time.monotonic() < deadline, "the relayer process did not exit"
        time.sleep(0.02)
    return int(proc.returncode)


def _json(message: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in message.items():
        if isinstance(value, bytes):
            out[name] = "0x" + value.hex()
        elif isinstance(value, (bool, str)):
            out[name] = value
        elif isinstance(value, int):
            out[name] = str(value)
        else:
            out[name] = value
    return out


@contextlib.contextmanager
def serve_with_relayer(env: RelayEnv) -> Iterator[str]:
    """The API (relay routes included) on a real uvicorn server in a thread and a `dm3-relayer run` process for
    `env`'s chain; yields the API's URL and stops both (the relayer must exit 0 on SIGTERM)."""
    port = free_port()
    app = create_app(ApiSettings(database_url=env.db_url, relayer=env.settings))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    env.sender.lease.release()
    relayer = env.spawn()
    yield f"http://127.0.0.1:{port}"
    relayer.send_signal(signal.SIGTERM)
    assert wait_exit(relayer) == 0
    server.should_exit = True
    thread.join(timeout=10)
