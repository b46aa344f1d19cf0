"""Reports of runs and sweeps: the paper's tables and figures from a run or sweep directory."""
