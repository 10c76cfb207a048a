"""Scheme physical and financial progress, approved maker-checker through the workflow engine; district and
state reports."""
