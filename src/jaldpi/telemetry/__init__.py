"""Telemetry: SensorThings API v1.1 subset, HTTP and MQTT ingest, latest values and daily rollups."""
