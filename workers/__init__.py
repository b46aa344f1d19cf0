"""Ray entrypoints: pipeline stages, the Ray Data reader, sweeps (imported as s3gan_workers)."""
