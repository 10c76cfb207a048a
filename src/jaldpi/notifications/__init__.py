"""Notifications: an outbox written in the caller's unit of work, pluggable channels (SMS gateway, WhatsApp
Business, email, file) and EN/HI templates. See docs/notifications.md."""
