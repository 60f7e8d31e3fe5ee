"""Pure, vectorised statistics for playbook experiments (numpy and scipy only, no I/O)."""
