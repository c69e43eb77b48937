"""`dm3-relayer run`: a configuration or node problem is one line on stderr, without the RPC URL's secrets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harness.relayer import RELAYER_KEY, ROOT

BATCHER = "0x" + "11" * 20


@pytest.mark.parametrize(
    ("env", "phrase"),
    [
        ({}, "chain 5 is not in DM3_RELAYER_CHAINS"),
        ({"DM3_RELAYER_CHAINS": '[{"chain_id": 5, "rpc_url": "http://127.0.0.1:9"}]'}, "no relayer key"),
        ({"DM3_RELAYER_CHAINS": "not json"}, "invalid configuration"),
        (
            {
                "DM3_RELAYER_CHAINS": f'[{{"chain_id": 5, "rpc_url": "http://u:secret@127.0.0.1:9/key123", "batcher": "{BATCHER}"}}]',
                "DM3_RELAYER_PRIVATE_KEY": RELAYER_KEY,
            },
            "cannot reach http://127.0.0.1:9",
        ),
    ],
)
def test_one_line_errors(tmp_path: object, env: dict[str, str], phrase: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DM3_")}
    done = subprocess.run(
        [sys.executable, "-m", "indexer.relayer", "run", "--chain-id", "5", "--log-level", "ERROR"],
        env={**clean, "DM3_DATABASE_URL": f"sqlite:///{tmp_path}/r.db", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("dm3-relayer: error: ") and phrase in last, done.stderr
    assert "secret" not in done.stderr and "key123" not in done.stderr and "Traceback" not in done.stderr
