"""Research side: cohort generator, attacker, downstream tasks, evaluation, training. Not needed at run time."""
