"""Conversion to Parquet shards, labelled masks, storage and the plain reader."""
