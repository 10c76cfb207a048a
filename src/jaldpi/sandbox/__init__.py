"""Sandbox: a realistic synthetic state on the real LGD upper hierarchy, and the newcomer's demo command."""
