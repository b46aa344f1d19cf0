"""FID/IS, Inception weights and sampling (truncation, grids, interpolation)."""
