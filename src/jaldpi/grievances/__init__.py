"""Grievances from citizens (web, SMS, staff-entered calls): routing by village and asset, SLA and escalation, tracking, Open311 GeoReport v2."""
