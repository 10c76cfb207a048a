"""Assets: water-supply schemes and their components as a graph, down to each household tap."""
