"""Real baseline: JJM village profiles (service level, households, tap connections, Har Ghar Jal status) matched to
LGD units by name, and the villages-below-norm report. See docs/service_delivery.md."""
