"""Curation stages: engine-free code that turns batches of panel rows into
rows of the stage's own output table (keyed by panel_id)."""
