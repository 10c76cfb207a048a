"""Documents: content-hashed files (photos, videos, resolutions, certificates, receipts) with their metadata as a
registry (docs/documents.md)."""
