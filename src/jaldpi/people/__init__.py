"""People: households and their personal data (kept apart, encrypted, masked by role, access-logged)."""
