"""One D/G step, EMA, checkpoints and the single-process trainer."""
