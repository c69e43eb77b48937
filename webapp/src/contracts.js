/**
 * The parts of the contracts' ABIs the app calls (a test checks each against the compiled contracts).
 * @module contracts
 */

import { parseAbi } from "viem";

export const depositsAbi = parseAbi([
  "function TOKEN() view returns (address)",
  "function COOLDOWN() view returns (uint256)",
  "function paused() view returns (bool)",
  "function nonces(address) view returns (uint256)",
  "function min_deposit(address) view returns (uint256)",
  "function is_eligible(address sender, address recipient) view returns (bool)",
  "function bonds(address sender, address recipient) view returns ((uint256 amount, uint256 unlock_time, bool accepted))",
  "function set_min_deposit(uint256 amount)",
  "function deposit(address recipient, uint256 amount)",
  "function deposit_with_permit(address recipient, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)",
  "function burn(address sender, uint256 amount)",
  "function release(address sender)",
  "function request_withdrawal(address recipient)",
  "function withdraw(address recipient, address receiver)",
]);

export const tokenAbi = parseAbi([
  "function name() view returns (string)",
  "function symbol() view returns (string)",
  "function decimals() view returns (uint8)",
  "function balanceOf(address) view returns (uint256)",
  "function allowance(address owner, address spender) view returns (uint256)",
  "function nonces(address) view returns (uint256)",
  "function approve(address spender, uint256 amount) returns (bool)",
]);

export const registryAbi = parseAbi([
  "function nonces(address) view returns (uint256)",
  "function owner(bytes32 node) view returns (address)",
  "function addr_name_node(address account) view returns (bytes32)",
  "function text(bytes32 node, string key) view returns (string)",
  "function primaryName(address account) view returns (string)",
  "function register(string label, address owner) returns (bytes32)",
  "function setText(bytes32 node, string key, string text_value)",
  "function setPrimaryName(string name)",
]);
