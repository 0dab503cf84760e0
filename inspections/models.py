"""Inspections, findings and the rectification loop (issue: rectification loop)."""
