"""Accounts, sessions and API tokens (账号与认证)."""
