"""`s3gan data convert`, `s3gan data labels` and `s3gan data verify`."""

from __future__ import annotations

import argparse
import sys


def register(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser("data", help="convert image datasets to shards, draw labelled masks")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")

    convert = sub.add_parser(
        "convert", help="convert IDX files or a class-folder / ImageNet tree into Parquet shards"
    )
    convert.add_argument("source", help="IDX folder, class-folder tree or ImageNet root")
    convert.add_argument("dest", help="dataset directory: a path or s3://bucket/prefix")
    convert.add_argument("--resolution", type=int, required=True, choices=(32, 64, 128, 256))
    convert.add_argument("--encoding", choices=("raw", "png", "jpeg"),
                         help="stored image encoding (default: raw up to 64 px, jpeg above)")
    convert.add_argument("--channels", type=int, choices=(1, 3), default=3,
                         help="3: grayscale becomes RGB (default); 1: keep a single channel")
    convert.add_argument("--shard-size", type=int, default=1024, metavar="IMAGES",
                         help="images per shard (default 1024)")
    convert.add_argument("--validation-labels", metavar="FILE",
                         help="labels of a flat validation folder (ImageNet)")
    convert.add_argument("--max-skipped", type=float, default=None, metavar="FRACTION",
                         help="fail when more than this share of images is unreadable (0.001)")
    convert.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    convert.add_argument("--limit", type=int, default=None, metavar="IMAGES",
                         help="only IMAGES images of each split, a fixed random subset")
    _storage_arguments(convert)
    convert.set_defaults(run=_convert)

    labels = sub.add_parser("labels", help="draw k%% of each class as the labelled subset")
    labels.add_argument("dest", help="a converted dataset: a path or s3://bucket/prefix")
    labels.add_argument("--fraction", type=float, nargs="+", required=True,
                        help="fractions of each class to keep labelled, e.g. 0.05 0.1 0.2")
    labels.add_argument("--seed", type=int, default=0)
    labels.add_argument("--split", default="train")
    _storage_arguments(labels)
    labels.set_defaults(run=_labels)

    verify = sub.add_parser("verify", help="check every shard against the manifest's checksums")
    verify.add_argument("dest")
    _storage_arguments(verify)
    verify.set_defaults(run=_verify)


def _storage_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", help="S3-compatible endpoint, e.g. http://127.0.0.1:8080")
    parser.add_argument("--region")


def _storage(args):
    from s3gan.spec.model import Storage

    return Storage(endpoint=args.endpoint, region=args.region)


def _convert(args: argparse.Namespace) -> int:
    from s3gan.data.convert import DEFAULT_MAX_SKIPPED, ConversionError, convert
    from s3gan.data.manifest import ManifestError, Settings
    from s3gan.data.preprocess import default_encoding
    from s3gan.data.sources import SourceError
    from s3gan.data.storage import StorageError

    if args.shard_size < 1:
        print("--shard-size must be at least 1", file=sys.stderr)
        return 2
    settings = Settings(
        resolution=args.resolution,
        channels=args.channels,
        encoding=args.encoding or default_encoding(args.resolution),
        shard_size=args.shard_size,
    )
    try:
        convert(
            args.source, args.dest, settings, _storage(args),
            validation_labels=args.validation_labels,
            max_skipped=DEFAULT_MAX_SKIPPED if args.max_skipped is None else args.max_skipped,
            workers=args.workers,
            limit=args.limit,
        )
    except (ConversionError, ManifestError, SourceError, StorageError) as e:
        print(f"s3gan data convert: {e}", file=sys.stderr)
        return 1
    return 0


def _labels(args: argparse.Namespace) -> int:
    from s3gan.data.manifest import ManifestError
    from s3gan.data.masks import create_masks
    from s3gan.data.storage import StorageError, open_location

    try:
        for m in create_masks(open_location(args.dest, _storage(args)), args.fraction,
                              args.seed, args.split):
            print(f"{m.name}: {m.images} labelled images, per class {list(m.per_class)}")
    except (ManifestError, StorageError, ValueError) as e:
        print(f"s3gan data labels: {e}", file=sys.stderr)
        return 1
    return 0


def _verify(args: argparse.Namespace) -> int:
    from s3gan.data.manifest import ManifestError, read_manifest, read_verified_shard
    from s3gan.data.storage import StorageError, open_location

    try:
        location = open_location(args.dest, _storage(args))
        manifest = read_manifest(location)
        for shard in manifest.shards:
            read_verified_shard(location, shard)
    except (ManifestError, StorageError) as e:
        print(f"s3gan data verify: {e}", file=sys.stderr)
        return 1
    print(f"{args.dest}: {len(manifest.shards)} shards match the manifest")
    return 0
