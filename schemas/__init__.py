"""Declarative schemas of sciir-dist: Arrow/Lance table schemas (`tables`)
and, from the curation issue on, JSON Schemas of structured model outputs."""
