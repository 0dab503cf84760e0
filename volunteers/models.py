"""Volunteers, teams, activities and service hours (issue: volunteers)."""
