"""The spec's light copy of the z chunking agrees with the generator's architecture tables."""

from s3gan.nn.biggan import TABLES
from s3gan.spec.model import RESOLUTIONS, Z_CHUNKS


def test_z_chunks_are_generator_blocks_plus_one():
    assert set(TABLES) == set(RESOLUTIONS) == set(Z_CHUNKS)
    for resolution, table in TABLES.items():
        assert Z_CHUNKS[resolution] == len(table.generator)  # the dense layer + each block
