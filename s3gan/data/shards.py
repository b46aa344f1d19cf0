"""One Parquet shard: the columns, how it is written, and how its rows are read back.

A shard is one Parquet file holding one row group — the unit the training reader shuffles,
reads and verifies. Columns: ``image`` (the encoded payload), ``label`` (class id), ``index``
(the image's stable index within its split) and ``split``. Already-compressed payloads (PNG,
JPEG) are stored as they are; raw pixels get zstd, which is lossless and decodes at GB/s.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from s3gan.data.preprocess import decode

SCHEMA = pa.schema(
    [("image", pa.binary()), ("label", pa.int64()), ("index", pa.int64()), ("split", pa.string())]
)


def shard_bytes(images: list[bytes], labels, indices, split: str, encoding: str) -> bytes:
    table = pa.table(
        {
            "image": pa.array(images, pa.binary()),
            "label": pa.array(labels, pa.int64()),
            "index": pa.array(indices, pa.int64()),
            "split": pa.array([split] * len(images), pa.string()),
        },
        schema=SCHEMA,
    )
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        row_group_size=max(len(images), 1),
        compression={"image": "zstd" if encoding == "raw" else "none",
                     "label": "zstd", "index": "zstd", "split": "zstd"},
        write_statistics=["label", "index"],
        use_dictionary=["split"],
    )
    return sink.getvalue().to_pybytes()


def read_columns(data: bytes, columns: list[str]) -> pa.Table:
    return pq.read_table(pa.BufferReader(data), columns=columns)


def decode_images(payloads: pa.Array, encoding: str, resolution: int, channels: int) -> np.ndarray:
    """uint8 [N, 3, H, W] from a column of stored payloads; a grey channel is repeated."""
    shape = (len(payloads), resolution, resolution, channels)
    if encoding == "raw":
        # Equal-sized payloads lie back to back in the column's data buffer: one view, no copy.
        _, offsets, values = payloads.buffers()
        start = np.frombuffer(offsets, dtype=np.int32)[payloads.offset]
        pixels = np.frombuffer(values, dtype=np.uint8, count=int(np.prod(shape)), offset=start)
        hwc = pixels.reshape(shape)
    else:
        hwc = np.stack([decode(p.as_py(), encoding, resolution, channels) for p in payloads])
    nchw = hwc.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(np.broadcast_to(nchw, (len(payloads), 3) + shape[1:3]))
