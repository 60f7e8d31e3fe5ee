"""Trends: objection and competitor rates over time, and the evidence behind every bar."""
