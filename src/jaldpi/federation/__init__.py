"""Federation: node-to-node sync of owned records with signed messages (docs/federation.md)."""
