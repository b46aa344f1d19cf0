"""The `s3gan` command line."""
