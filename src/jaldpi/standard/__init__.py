"""The jaldpi data standard v1: code lists (versioned data, English and Hindi labels) and published schemas."""
