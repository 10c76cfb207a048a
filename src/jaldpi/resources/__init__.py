"""Natural resources: drinking-water sources, aquifers, groundwater assessment units, surface water bodies."""
