"""Notifications: the in-app feed and the mail outbox with its sender job."""
