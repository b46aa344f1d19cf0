"""What the benchmarks and the tests both run on and that the s3gan library does not ship: a
process-tree sampler and the real Kubernetes control plane with its clients."""
