"""Training on the curation cluster (SPEC §7): the training split, CLIP
training with Ray Train, and SFT exports."""
