"""The trained generator as it is evaluated, packaged to be used without this project.

The evaluated generator is the EMA of G (when ``training.ema`` is on) with standing BatchNorm
statistics (compare_gan's evaluation; ``s3gan.train.standing_stats``), the fake labels for those
statistics drawn uniformly over the classes. An export directory holds:

- ``generator.pt2``: a ``torch.export`` program of that generator, batch size dynamic;
  ``torch.export.load(path).module()(z, y)`` runs it with nothing but torch installed;
- ``generator_state_dict.pt``: its weights for ``s3gan.nn.biggan.Generator`` built with
  ``model.spectralNorm: false``, each weight already divided by its spectral norm;
- ``model-card.json`` and ``README.md``: the experiment spec, the G step, FID with its sample
  size, number of sets and feature extractor (or "not measured"), and how to load it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from torch.nn.utils import parametrize

from s3gan.nn.biggan import Generator
from s3gan.spec import load_experiment
from s3gan.spec.model import ExperimentSpec
from s3gan.train.checkpoint import MANIFEST, CheckpointStore, load
from s3gan.train.standing_stats import standing_statistics

RUN_EXPERIMENT = "experiment.yaml"  # the experiment a run directory was trained from
RUN_SUMMARY = "run.json"  # a pipeline run's stages (s3gan_workers.pipeline)
PROGRAM = "generator.pt2"
WEIGHTS = "generator_state_dict.pt"
CARD = "model-card.json"
CARD_MARKDOWN = "README.md"
_EVALUATION_SEED_OFFSET = 2  # the trainer's evaluation stream
SCORE_FIELDS = ("step", "fid", "samplesPerSet", "sets", "network", "inceptionScore")
CLASS_CONDITIONAL_FIELDS = (
    "classAccuracyScore", "classAccuracyStandardError", "classAccuracySamplesPerClass",
    "classifierTestAccuracy",  # s3gan.eval.class_accuracy, when it was measured
    "intraClassFid", "intraClassFidGeneratedPerClass", "intraClassFidRealPerClass",
)  # and s3gan.eval.intra_fid, when it was measured


@dataclass(frozen=True)
class TrainedRun:
    """A checkpoint, the experiment it belongs to, and the evaluate stage's record of that
    checkpoint when the pipeline scored it."""

    spec: ExperimentSpec
    checkpoint: Path
    step: int
    scores: dict | None = None


def find_run(path: Path, experiment: Path | None = None) -> TrainedRun:
    """``path`` is a checkpoint directory, a pipeline run directory (the one ``s3gan run``
    prints: ``run.json`` names its train and evaluate stages) or an ``s3gan train`` run directory
    (``<run>/checkpoints/``). A pipeline run gives the checkpoint its evaluate stage scored, with
    that record; otherwise the newest checkpoint that verifies. The experiment is ``experiment``
    or the run's ``experiment.yaml``."""
    path = Path(path)
    scored: dict | None = None
    if (path / MANIFEST).is_file():
        checkpoint = path
        run_dir = next((p for p in path.parents if (p / RUN_EXPERIMENT).is_file()),
                       path.parent.parent)
        scored = _evaluated_record(run_dir)
    else:
        run_dir = path
        checkpoints, scored = _pipeline_checkpoints(path)
        store = CheckpointStore(checkpoints, keep=1)
        wanted = scored["step"] if scored else None
        chosen = next((c for c in store.checkpoints() if c.step == wanted), None)
        chosen = chosen or store.latest()
        if chosen is None:
            raise FileNotFoundError(f"{path}: neither a checkpoint (no {MANIFEST}) nor a run "
                                    f"directory with a verified checkpoint under {checkpoints}")
        checkpoint = chosen.path
    experiment = Path(experiment) if experiment else run_dir / RUN_EXPERIMENT
    if not experiment.is_file():
        raise FileNotFoundError(f"{experiment}: no experiment file; name it with --experiment")
    step = int(json.loads((checkpoint / MANIFEST).read_text())["step"])
    scores = scored if scored is not None and scored.get("step") == step else None
    return TrainedRun(load_experiment(experiment).spec, checkpoint, step, scores)


def _pipeline_checkpoints(run_dir: Path) -> tuple[Path, dict | None]:
    """Where a run directory keeps its checkpoints, and the evaluate stage's record (None when
    it is not a pipeline run or evaluate has not finished)."""
    summary = _summary(run_dir)
    if summary is None or "train" not in summary.get("stages", {}):
        return run_dir / "checkpoints", None
    return (run_dir / summary["stages"]["train"]["directory"] / "checkpoints",
            _evaluated_record(run_dir))


def _summary(run_dir: Path) -> dict | None:
    try:
        return json.loads((run_dir / RUN_SUMMARY).read_text())
    except FileNotFoundError:
        return None
    except ValueError as e:
        raise ValueError(f"{run_dir / RUN_SUMMARY}: not a run summary ({e})") from e


def _evaluated_record(run_dir: Path) -> dict | None:
    """The evaluate stage's record, with the G step it scored, from the run's summary."""
    summary = _summary(run_dir)
    stages = summary.get("stages", {}) if summary else {}
    if "evaluate" not in stages or "train" not in stages:
        return None
    record = dict(stages["evaluate"]["results"])
    record.setdefault("step", stages["train"]["results"]["steps"])
    return record


def card_scores(run: TrainedRun, supplied: dict | None) -> dict | None:
    """The scores a model card may claim: ``supplied`` (an evaluation record) only when it is of
    this checkpoint's G step, else the evaluate stage's record of this checkpoint, if any."""
    if supplied is None:
        return run.scores
    evaluation_summary(supplied)  # names what the record lacks, G step included
    if int(supplied["step"]) != run.step:
        raise ValueError(f"the evaluation record is of G step {supplied['step']}, the checkpoint "
                         f"{run.checkpoint} is G step {run.step}: a card claims only its own "
                         "checkpoint's scores")
    return supplied


def evaluated_generator(run: TrainedRun, device: torch.device | str = "cpu",
                        standing_samples: int | None = None) -> Generator:
    """The EMA generator (or G without EMA) of the checkpoint, standing statistics in place."""
    state = load(run.checkpoint)
    if "ema" in state:
        weights = {k.removeprefix("module."): v for k, v in state["ema"].items()
                   if k.startswith("module.")}
    else:
        weights = state["generator"]
    num_classes = weights["shared.weight"].shape[0]
    generator = Generator.from_spec(run.spec, num_classes).to(device)
    generator.load_state_dict(weights)
    rng = torch.Generator(device).manual_seed(run.spec.seeds.gan + _EVALUATION_SEED_OFFSET)
    z_dim = run.spec.model.z_dim

    def uniform_inputs(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.randn(n, z_dim, generator=g, device=device)
        return z, torch.randint(0, num_classes, (n,), generator=g, device=device)

    standing_statistics(generator, uniform_inputs,
                        standing_samples or run.spec.evaluation.standing_stats_samples,
                        run.spec.micro_batch, rng)
    return generator


def without_spectral_norm(generator: Generator, spec: ExperimentSpec) -> Generator:
    """The same function as plain layers: each normalised weight W/σ stored as the weight."""
    plain = Generator.from_spec(spec.model_copy(update={
        "model": spec.model.model_copy(update={"spectral_norm": False})}),
        generator.shared.num_embeddings)
    weights = {}
    with torch.no_grad():
        for name, module in generator.named_modules():
            prefix = f"{name}." if name else ""
            if parametrize.is_parametrized(module, "weight"):
                weights[f"{prefix}weight"] = module.weight.detach().clone()
            for key, value in [*module.named_parameters(recurse=False),
                               *module.named_buffers(recurse=False)]:
                weights[f"{prefix}{key}"] = value.detach()
    plain.load_state_dict({k: v for k, v in weights.items()
                           if k in plain.state_dict()}, strict=True)
    return plain.to(next(generator.parameters()).device).eval()


def export_generator(run: TrainedRun, out: Path, scores: dict | None = None,
                     standing_samples: int | None = None) -> dict:
    """Write the export directory ``out``; returns the model card. ``scores`` is an evaluation
    record (``s3gan.eval.evaluate.Scores.as_record`` with its ``step``) of this checkpoint;
    without it, the evaluate stage's record of this checkpoint when there is one."""
    evaluation = evaluation_summary(card_scores(run, scores))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plain = without_spectral_norm(evaluated_generator(run, "cpu", standing_samples), run.spec)
    torch.save(plain.state_dict(), out / WEIGHTS)
    batch = torch.export.Dim("batch", min=1, max=65_536)
    example = (torch.zeros(2, run.spec.model.z_dim), torch.zeros(2, dtype=torch.int64))
    program = torch.export.export(plain, example,
                                  dynamic_shapes={"z": {0: batch}, "y": {0: batch}})
    torch.export.save(program, out / PROGRAM)
    card = model_card(run, plain.shared.num_embeddings, evaluation)
    (out / CARD).write_text(json.dumps(card, indent=2) + "\n")
    (out / CARD_MARKDOWN).write_text(card_markdown(card))
    return card


def evaluation_summary(scores: dict | None) -> dict | None:
    """FID with what it was measured on, from an evaluation record (or None)."""
    if scores is None:
        return None
    missing = [key for key in SCORE_FIELDS if key not in scores]
    if missing:
        raise ValueError(f"the evaluation record lacks {', '.join(missing)} "
                         "(expected the evaluate stage's scores.json: Scores.as_record() and "
                         "its G step)")
    optional = [key for key in CLASS_CONDITIONAL_FIELDS if key in scores]
    return {key: scores[key] for key in (*SCORE_FIELDS, *optional)}


def model_card(run: TrainedRun, num_classes: int, evaluation: dict | None) -> dict:
    spec, m = run.spec, run.spec.model
    return {
        "method": spec.method.value,
        "step": run.step,
        "checkpoint": str(run.checkpoint),
        "generator": {
            "resolution": spec.dataset.resolution, "numClasses": num_classes,
            "zDim": m.z_dim, "outputRange": m.output_range, "ema": spec.training.ema.enabled,
            "standingStatistics": "BatchNorm statistics over generated samples, labels uniform",
            "truncation": spec.evaluation.truncation,
        },
        "evaluation": evaluation,
        "files": {"program": PROGRAM, "stateDict": WEIGHTS},
        "load": (f"import torch; g = torch.export.load('{PROGRAM}').module(); "
                 f"images = g(torch.randn(n, {m.z_dim}), labels_int64)"),
        "spec": spec.model_dump(by_alias=True, mode="json", exclude_none=True),
    }


def card_markdown(card: dict) -> str:
    g, scores = card["generator"], card["evaluation"]
    span = "[0, 1]" if g["outputRange"] == "zero-one" else "[-1, 1]"
    if scores is None:
        quality = "FID: not measured for this checkpoint."
    else:
        quality = (f"FID {scores['fid']:.2f}: mean over {scores['sets']} sets of "
                   f"{scores['samplesPerSet']} samples, features of `{scores['network']}`; "
                   f"Inception Score: {scores['inceptionScore']}.")
        if "classAccuracyScore" in scores:
            quality += (f" Classification Accuracy Score {scores['classAccuracyScore']:.3f} ± "
                        f"{scores['classAccuracyStandardError']:.3f} "
                        f"({scores['classAccuracySamplesPerClass']} samples per class; the "
                        f"evaluation classifier scores {scores['classifierTestAccuracy']:.3f} "
                        "on held-out real images).")
        if "intraClassFid" in scores:
            quality += (f" Intra-class FID {scores['intraClassFid']:.2f} (≥ "
                        f"{min(scores['intraClassFidGeneratedPerClass'])} generated and ≥ "
                        f"{min(scores['intraClassFidRealPerClass'])} real images per class; "
                        "biased upward at few images per class, comparable only at equal "
                        "counts).")
    return f"""# {card['method']} generator, G step {card['step']}

{g['resolution']}×{g['resolution']} images, {g['numClasses']} classes, z of {g['zDim']}
dimensions drawn from N(0, I){"" if g["truncation"] is None else
f", truncated at {g['truncation']} during evaluation"}. Weights: {"EMA of G" if g["ema"]
else "G"}, {g['standingStatistics']}.

{quality}

## Loading (needs only torch)

```python
import torch
generator = torch.export.load("{card['files']['program']}").module()
z = torch.randn(8, {g['zDim']})
y = torch.randint(0, {g['numClasses']}, (8,))  # int64 class indices
images = generator(z, y)  # [8, 3, {g['resolution']}, {g['resolution']}], values in {span}
```

`{card['files']['stateDict']}` holds the same weights for `s3gan.nn.biggan.Generator` built
with `model.spectralNorm: false`.

## Experiment

```yaml
{yaml.safe_dump(card['spec'], sort_keys=False).rstrip()}
```
"""
