"""Webhooks: partners subscribe to change-log events in their jurisdiction and receive them signed, in order,
with retries, a dead-letter list and replay (docs/feed_and_webhooks.md)."""
