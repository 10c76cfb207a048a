"""jaldpi: the reference implementation of the Jal Jeevan Mission's Digital Public Infrastructure."""

__version__ = "0.1.0"
STANDARD_VERSION = "v1"
