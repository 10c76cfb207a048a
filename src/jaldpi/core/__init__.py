"""Mechanics that know no domain: database, identifiers, change log, registry machinery, access control."""
