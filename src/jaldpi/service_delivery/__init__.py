"""Service delivery: daily supply records per scheme and village, service levels and functionality."""
