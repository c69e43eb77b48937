"""Errors of the deployment tooling: each says what is wrong and what to do about it."""

from __future__ import annotations

from indexer.errors import UserError


class DeployError(UserError):
    """A deployment cannot go ahead; the message is meant for the person running it."""


class InvalidArgument(DeployError):
    """A command-line argument is malformed (address, ENS name, URL, ...)."""


class MissingRpcUrl(DeployError):
    """A live network was chosen but the environment variable holding its RPC URL is not set."""


class DeploymentExists(DeployError):
    """The record file already holds a contract this command would deploy, and `--force` was not given."""


class NoCodeAtAddress(DeployError):
    """An address that should hold a contract (recorded, or passed in) has no code on the chain."""


class RecordNotFound(DeployError):
    """No recorded deployment for the network, or not of the contract asked for."""


class RecordChainMismatch(DeployError):
    """The record file belongs to another chain id than the one connected to."""


class NoDeploymentProxy(DeployError):
    """The chain has no deterministic-deployment proxy (or other code at its address): no CREATE2 deployment."""


class CodeMismatch(DeployError):
    """The predicted address already holds code that is not the contract this command would deploy."""


class HistoryUnavailable(DeployError):
    """The node cannot answer for a past block (not an archive node)."""
