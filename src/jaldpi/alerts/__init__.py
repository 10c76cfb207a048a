"""Alerts: conditions on supply records and telemetry, evaluated set-based by a periodic job
(docs/service_delivery.md, "Alerts")."""
