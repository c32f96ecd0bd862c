"""Accounts: sign-up, verification, login, password reset, profile, company, team, invitations."""
