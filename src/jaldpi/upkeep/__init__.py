"""Asset upkeep: preventive maintenance schedules, breakdown tickets, repairs, condition, downtime and mean
time to repair (docs/upkeep.md)."""
