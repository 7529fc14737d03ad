"""Prompts written for this project, versioned; every model output records
the version of the prompt that produced it."""
