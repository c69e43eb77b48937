"""RPC URLs carry API keys (in the path, the query or as userinfo): everything the indexer shows of one (errors,
logs, the stored chain error and `dm3-indexer status`) is its scheme and host only."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY, generate_latest

from indexer.chain.rpc import RetryPolicy, RpcClient, RpcUnreachable
from indexer.redact import RedactingFilter, redact_url, redact_urls
from indexer.store.db import create_db_engine
from indexer.store.migrate import upgrade
from indexer.store.models import Chain
from indexer.sync.heads import HeadWatcher

CLI = str(Path(sys.executable).parent / "dm3-indexer")
SECRETS = ("hunter2", "SECRETKEY", "SECRETQUERY", "/v3", "frag")
# Port 1 on loopback: nothing listens, so a connection is refused at once.
UNREACHABLE = "http://user:hunter2@127.0.0.1:1/v3/SECRETKEY?apikey=SECRETQUERY#frag"


def _assert_host_only(text: str, host: str) -> None:
    assert host in text, text
    for secret in SECRETS:
        assert secret not in text, (secret, text)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://opt-mainnet.g.alchemy.com/v2/SECRETKEY", "https://opt-mainnet.g.alchemy.com"),
        ("https://mainnet.infura.io/v3/SECRETKEY?x=1", "https://mainnet.infura.io"),
        ("https://user:hunter2@node.example:8545/?apikey=SECRETQUERY", "https://node.example:8545"),
        ("wss://[::1]:8546/ws/SECRETKEY", "wss://[::1]:8546"),
        ("HTTP://NODE.EXAMPLE/SECRETKEY", "http://node.example"),
        ("http://node.example:notaport/SECRETKEY", "<url>"),
        ("sqlite:///./data/dm3.db?mode=ro", "sqlite:///./data/dm3.db"),
    ],
)
def test_redact_url__scheme_and_host_only(url, shown):
    assert redact_url(url) == shown


def test_redact_urls__every_url_in_a_message():
    message = (
        f"cannot reach {UNREACHABLE}: ConnectError('x'), then 'wss://h.example/ws/SECRETKEY' "
        "and (https://a.example/v3/SECRETKEY)"
    )
    redacted = redact_urls(message)
    assert redacted == (
        "cannot reach http://127.0.0.1:1: ConnectError('x'), then 'wss://h.example' and (https://a.example)"
    )


def test_redacting_filter__message_arguments_and_traceback(caplog):
    logger = logging.getLogger("indexer.test_redaction")
    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - closed below
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"node at {UNREACHABLE} failed")
        except RuntimeError:
            logger.exception("chain %s: %s", "optimism", UNREACHABLE)
    finally:
        logger.removeHandler(handler)
        handler.stream.close()
    (record,) = [r for r in caplog.records if r.name == "indexer.test_redaction"]
    _assert_host_only(record.getMessage(), "http://127.0.0.1:1")
    _assert_host_only(record.exc_text or "", "http://127.0.0.1:1")


def test_rpc_error__unreachable_node__host_only():
    async def call() -> None:
        async with RpcClient(UNREACHABLE, retry=RetryPolicy(attempts=1)) as rpc:
            await rpc.call("eth_chainId")

    with pytest.raises(RpcUnreachable) as raised:
        asyncio.run(call())
    _assert_host_only(str(raised.value), "http://127.0.0.1:1")


def test_rpc_client__metrics_label_without_a_chain_name__host_only():
    async def call() -> None:
        async with RpcClient(UNREACHABLE, retry=RetryPolicy(attempts=1)) as rpc:
            assert rpc.chain == "http://127.0.0.1:1"
            with pytest.raises(RpcUnreachable):
                await rpc.call("eth_chainId")

    asyncio.run(call())
    exposed = generate_latest(REGISTRY).decode()
    assert 'chain="http://127.0.0.1:1"' in exposed  # the label exists, so the check below looks at it
    for secret in SECRETS:
        assert secret not in exposed


def test_head_watcher__log_lines__host_only(caplog):
    async def watch() -> None:
        watcher = HeadWatcher("ws://user:hunter2@127.0.0.1:notaport/ws/SECRETKEY?k=SECRETQUERY", chain="op")
        watcher.start()
        await asyncio.sleep(0.2)
        await watcher.stop()

    with caplog.at_level(logging.INFO, logger="indexer.sync.heads"):
        asyncio.run(watch())
    lines = [r.getMessage() for r in caplog.records if r.name == "indexer.sync.heads"]
    assert lines and "no newHeads subscription" in lines[0], lines
    for secret in SECRETS:
        assert all(secret not in line for line in lines), lines


def _env(db_url: str, chains: list[dict[str, Any]]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DM3_") and k != "DATABASE_URL"}
    env.update(DM3_DATABASE_URL=db_url, DM3_CHAINS=json.dumps(chains), DM3_LOG_LEVEL="INFO")
    return env


def test_cli_status__stored_error__host_only(tmp_path):
    """`dm3-indexer status` shows the chain's stored error; one written with a full URL (an older indexer, or
    any path that missed the redaction) still shows the host only, in the table and in JSON."""
    url = f"sqlite:///{tmp_path}/status.db"
    engine = create_db_engine(url, role="writer")
    upgrade(engine)
    from sqlmodel import Session

    with Session(engine) as session:
        session.add(
            Chain(
                chain_id=10,
                name="optimism",
                parent_name="op.dm3.eth",
                status="stopped",
                error=f"chain optimism: {UNREACHABLE} serves chain id 5, configured 10",
            )
        )
        session.commit()
    engine.dispose()
    env = _env(url, [])
    for args in (["status", "--json"], ["status"]):
        result = subprocess.run([CLI, *args], env={**env, "COLUMNS": "400"}, capture_output=True, timeout=60)
        assert result.returncode == 0, result.stderr
        _assert_host_only(result.stdout.decode(), "127.0.0.1:1")


def test_cli_sync__unreachable_node__one_line_host_only(tmp_path):
    chain = {
        "name": "optimism",
        "chain_id": 10,
        "rpc_url": UNREACHABLE,
        "rpc_retries": 1,
        "ws_url": "",
        "registry": {"address": "0x" + "11" * 20, "start_block": 0},
    }
    result = subprocess.run(
        [CLI, "sync", "--no-progress"],
        env=_env(f"sqlite:///{tmp_path}/sync.db", [chain]),
        capture_output=True,
        timeout=60,
    )
    stderr = result.stderr.decode()
    assert result.returncode == 1 and "cannot reach" in stderr and "Traceback" not in stderr, stderr
    _assert_host_only(stderr, "http://127.0.0.1:1")


def test_cli__invalid_chain_config__host_only(tmp_path):
    """pydantic's validation error quotes the input, the RPC URL included."""
    chain = {"name": "optimism", "chain_id": "not a number", "rpc_url": UNREACHABLE}
    result = subprocess.run(
        [CLI, "status"], env=_env(f"sqlite:///{tmp_path}/c.db", [chain]), capture_output=True, timeout=60
    )
    stderr = result.stderr.decode()
    assert result.returncode == 1 and "chain_id" in stderr, stderr
    for secret in SECRETS:
        assert secret not in stderr, stderr
