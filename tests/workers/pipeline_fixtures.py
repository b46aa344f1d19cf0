"""A tiny experiment and a tiny feature network standing in for Inception, for pipeline tests."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_fidelity.feature_extractor_base import FeatureExtractorBase

from s3gan.eval.features import FeatureNetwork
from s3gan.spec import parse_experiment

TINY_LAYER = "16"


class TinyFeatures(FeatureExtractorBase):
    """4×4 average colours → a fixed random 16-d tanh embedding."""

    def __init__(self, name: str, features_list: list[str]):
        super().__init__(name, features_list)
        rng = torch.Generator().manual_seed(0)
        self.embed = nn.Linear(48, 16)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=rng))
        self.requires_grad_(False)
        self.eval()

    def forward(self, x):
        pooled = F.adaptive_avg_pool2d(x.float() / 255 - 0.5, 4).flatten(1)
        return (torch.tanh(self.embed(pooled)),)

    @staticmethod
    def get_provided_features_list():
        return (TINY_LAYER,)


class TinyNetwork:
    """A picklable factory: Ray workers build the network themselves."""

    def __call__(self) -> FeatureNetwork:
        return FeatureNetwork(TinyFeatures("tiny", [TINY_LAYER]), "tiny-pipeline-1", TINY_LAYER,
                              None)


def tiny_experiment(name: str, method: str, dataset: str, runs: str = "runs",
                    endpoint: str | None = None, steps: int = 6):
    storage = {"runs": runs} | ({"endpoint": endpoint} if endpoint else {})
    return parse_experiment({
        "apiVersion": "s3gan.io/v1alpha1",
        "kind": "S3GANExperiment",
        "metadata": {"name": name},
        "spec": {
            "method": method,
            "labels": {"fraction": 0.1, "clusters": 4},
            "dataset": {"uri": dataset, "resolution": 32, "numClasses": 10},
            "model": {"ch": 4, "zDim": 8, "sharedEmbeddingDim": 4, "attention": False},
            "pretraining": {"depth": 26, "widening": 1, "epochs": 2, "batchSize": 32,
                            "unlabelledPerBatch": 24, "warmupEpochs": 0, "decayEpochs": [1]},
            "training": {"steps": steps, "globalBatch": 8, "logEverySteps": 1,
                         "ema": {"decay": 0.9, "startStep": 2},
                         "checkpoint": {"everySteps": 2, "keep": 2}},
            "evaluation": {"everySteps": 4, "samplesPerSet": 16, "sets": 1, "realSamples": 32,
                           "standingStatsSamples": 16, "classAccuracySamplesPerClass": 3,
                           "classifierEpochs": 1},
            "resources": {"workers": 2, "cpusPerWorker": 0.9},
            "storage": storage,
        },
    })
