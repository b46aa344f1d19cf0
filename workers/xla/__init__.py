"""torch-xla on TPU hosts: the Ray Train backend (PJRT on each host), the worker group's shape
for a TPU slice, and the launch of one XLA replica per local chip."""
