"""Notifications: an outbox written in the caller's unit of work, pluggable channels (SMS gateway, WhatsApp Business, email, file), EN/HI templates."""
