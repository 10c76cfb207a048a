"""Grievances from citizens (web, SMS, staff-entered calls, Open311): routing by village and asset, SLA and
escalation up the LGD hierarchy, tracking by reference and PIN, confirmation or reopening (docs/grievances.md)."""
