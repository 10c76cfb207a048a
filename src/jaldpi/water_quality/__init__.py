"""Water-quality surveillance: IS 10500 rules, samples and results, field kits, remedial action."""
