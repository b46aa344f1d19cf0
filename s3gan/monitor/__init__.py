"""The metric catalogue and the collapse detector."""
