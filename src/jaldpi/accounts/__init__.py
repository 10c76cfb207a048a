"""Accounts: people and partner systems, their grants (role + LGD subtree), and the OAuth2 token endpoint."""
