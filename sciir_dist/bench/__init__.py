"""SciIR-Bench at scale (SPEC §6): load or build a benchmark, write
checklists, sweep generators, judge, score and report."""
