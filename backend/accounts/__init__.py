"""Accounts: users, roles, workshop membership, API tokens and invite codes."""
