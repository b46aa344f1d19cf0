"""`s3gan model summary`: trainable parameters of G and D, part by part."""

from __future__ import annotations

import argparse

HEADS = ("rotation", "classifier")


def register(commands: argparse._SubParsersAction) -> None:
    model = commands.add_parser("model", help="inspect the BigGAN generator and discriminator")
    sub = model.add_subparsers(dest="model_command", required=True, metavar="COMMAND")
    summary = sub.add_parser("summary", help="print trainable parameter counts per part")
    summary.add_argument("--resolution", type=int, default=128, choices=(32, 64, 128, 256))
    summary.add_argument("--ch", type=int, default=96, help="channel multiplier (paper: 96)")
    summary.add_argument("--classes", type=int, default=1000, help="classes G and D condition on")
    summary.add_argument("--z-dim", type=int, default=120)
    summary.add_argument("--heads", type=_heads, default=(),
                         help="extra D heads, comma-separated: rotation,classifier")
    summary.add_argument("--no-projection", action="store_true",
                         help="drop the projection head (SINGLE LABEL)")
    summary.set_defaults(run=_summary)


def _heads(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in HEADS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown heads {unknown}; choose from {HEADS}")
    return names


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _table(title: str, network) -> list[str]:
    parts = network.parts()
    width = max(len(label) for label, _ in parts)
    lines = [title]
    lines += [f"  {label:<{width}}  {_count(module):>12,}" for label, module in parts]
    lines.append(f"  {'total':<{width}}  {_count(network):>12,}")
    return lines


def _summary(args: argparse.Namespace) -> int:
    from s3gan.nn.biggan import Discriminator, Generator
    from s3gan.nn.heads import HeadSet

    heads = HeadSet(projection=not args.no_projection, rotation="rotation" in args.heads,
                    classifier="classifier" in args.heads)
    # Trainable counts depend on neither the initialisation nor spectral norm (whose vectors
    # are buffers); building without orthogonal's QR and SN's power iterations is quick.
    plain = {"init": "normal", "spectral_norm": False}
    generator = Generator(args.resolution, args.ch, args.classes, z_dim=args.z_dim, **plain)
    discriminator = Discriminator(args.resolution, args.ch, args.classes, heads, **plain)
    header = f"BigGAN {args.resolution}×{args.resolution}, ch = {args.ch}, {args.classes} classes"
    print("\n".join([header, *_table("generator", generator),
                     *_table("discriminator", discriminator), *_heads_note(discriminator)]))
    return 0


def _heads_note(discriminator) -> list[str]:
    """What the self-supervision and co-training heads add: the paper's Table 11 counts D
    without them (87,982,370 at 128×128, ch 96, 1,000 classes)."""
    extra = [(label, _count(module)) for label, module in discriminator.parts()
             if label.startswith(("rotation", "classifier"))]
    if not extra:
        return []
    added = " + ".join(f"{label} {count:,}" for label, count in extra)
    return [f"  without the extra heads ({added}): "
            f"{_count(discriminator) - sum(c for _, c in extra):,}, the count of the paper's "
            "Table 11, which lists D without them"]
