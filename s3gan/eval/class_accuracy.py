"""Classification Accuracy Score: does G draw the class it is asked for?

FID says how close the generated distribution is to the real one as a whole; the paper's claim
(S³GAN with 10% of the labels as good as BigGAN with all of them) is about class-conditional
fidelity. Here the score is the share of the samples generated for class c that an
evaluation-only classifier puts in c, averaged over the classes (each class gets the same number
of samples, so this is also the overall share):

    CAS = 1/C Σ_c  1/n Σ_i  [argmax f(G(z_i, c)) = c]

``f`` is trained once per dataset on the real training split with every label (never the
method's labels), cached beside the dataset's shards like the real-image FID statistics, and its
own accuracy on the held-out split is reported beside the score: it bounds what CAS can say
(real held-out images score exactly that). The standard error is the binomial one,
``sqrt(p (1 − p) / (C n))``. (Ravuri & Vinyals 2019 use "CAS" for the reverse direction, a
classifier trained on generated images tested on real ones; this is the form the project's
targets are stated in, Shmelkov et al. 2018's "GAN-test".)
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from s3gan.data.storage import Location
from s3gan.monitor.progress import ProgressLine

CLASSIFIER_VERSION = 1  # bump when the architecture or its training changes
LEARNING_RATE = 2e-3


@dataclass(frozen=True)
class ClassAccuracy:
    """CAS with its sample count, standard error, per-class shares and the classifier's own
    held-out accuracy."""

    score: float
    per_class: tuple[float, ...]
    samples_per_class: int
    classifier_test_accuracy: float

    @property
    def standard_error(self) -> float:
        n = self.samples_per_class * len(self.per_class)
        return math.sqrt(self.score * (1.0 - self.score) / n)

    def as_record(self) -> dict:
        return {"classAccuracyScore": self.score,
                "classAccuracyStandardError": self.standard_error,
                "classAccuracySamplesPerClass": self.samples_per_class,
                "classAccuracyPerClass": list(self.per_class),
                "classifierTestAccuracy": self.classifier_test_accuracy}


def class_accuracy_score(classify: Callable[[torch.Tensor], torch.Tensor],
                         generate: Callable[[torch.Tensor], torch.Tensor], classes: Iterable[int],
                         samples_per_class: int, classifier_test_accuracy: float,
                         batch_size: int = 100) -> ClassAccuracy:
    """CAS over ``classes``: ``generate(labels) → uint8 images`` for the requested labels,
    ``classify(images) → logits`` over the dataset's classes."""
    shares = []
    for c in classes:
        hits = 0
        for start in range(0, samples_per_class, batch_size):
            n = min(batch_size, samples_per_class - start)
            labels = torch.full((n,), c, dtype=torch.int64)
            with torch.no_grad():
                predicted = classify(generate(labels)).argmax(dim=1).cpu()
            hits += int((predicted == c).sum())
        shares.append(hits / samples_per_class)
    if not shares:
        raise ValueError("class accuracy score: no classes to score")
    return ClassAccuracy(sum(shares) / len(shares), tuple(shares), samples_per_class,
                         classifier_test_accuracy)


class EvaluationClassifier(nn.Module):
    """A small VGG-style network (three conv-BN-ReLU stages, global average pooling): above 0.9
    held-out accuracy on Fashion-MNIST at 32×32 after a few CPU epochs. Takes uint8 images."""

    def __init__(self, num_classes: int, width: int = 32):
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for out in (width, 2 * width, 4 * width):
            layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out),
                       nn.ReLU(inplace=True), nn.Conv2d(out, out, 3, padding=1, bias=False),
                       nn.BatchNorm2d(out), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, num_classes)
        self.to(memory_format=torch.channels_last)  # the same arithmetic, faster on the CPU

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images.float() / 127.5 - 1.0).contiguous(memory_format=torch.channels_last)
        return self.head(self.features(x).mean(dim=(2, 3)))


@dataclass(frozen=True)
class ClassifierKey:
    """What the cached classifier depends on besides the dataset (its location)."""

    train_split: str
    test_split: str
    num_classes: int
    epochs: float
    seed: int

    @property
    def path(self) -> str:
        text = f"v{CLASSIFIER_VERSION}-{self.num_classes}-{self.epochs:g}-{self.seed}"
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        return f"eval-classifier/{self.train_split}-{self.test_split}-{digest}.pt"


@dataclass(frozen=True)
class TrainedClassifier:
    network: EvaluationClassifier
    test_accuracy: float

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        device = next(self.network.parameters()).device
        return self.network(images.to(device))


def train_classifier(train: Iterable[tuple[torch.Tensor, torch.Tensor]], steps_per_epoch: int,
                     test: Iterable[tuple[torch.Tensor, torch.Tensor]], key: ClassifierKey,
                     device: str | torch.device = "cpu",
                     say: Callable[[str], None] = print) -> TrainedClassifier:
    """Adam, one-cycle schedule, over ``key.epochs × steps_per_epoch`` shuffled (uint8 images,
    labels) batches of ``train``; then accuracy on ``test``."""
    torch.manual_seed(key.seed)
    network = EvaluationClassifier(key.num_classes).to(device)
    optimizer = torch.optim.Adam(network.parameters(), lr=LEARNING_RATE)
    total = max(1, round(key.epochs * steps_per_epoch))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, LEARNING_RATE, total_steps=total)
    line = ProgressLine("evaluation classifier: training", total, "batches")
    network.train()
    batches = iter(train)
    for step in range(1, total + 1):
        images, labels = next(batches)
        loss = F.cross_entropy(network(images.to(device)), labels.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        line.advance(step)
    network.eval()
    return TrainedClassifier(network, accuracy(TrainedClassifier(network, 0.0), test))


def accuracy(classify: Callable[[torch.Tensor], torch.Tensor],
             batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> float:
    seen = correct = 0
    with torch.no_grad():
        for images, labels in batches:
            correct += int((classify(images).argmax(1).cpu() == labels).sum())
            seen += labels.numel()
    if seen == 0:
        raise ValueError("classifier accuracy: no test images")
    return correct / seen


def save(location: Location, key: ClassifierKey, classifier: TrainedClassifier) -> None:
    buffer = io.BytesIO()
    torch.save({"key": key.__dict__, "testAccuracy": classifier.test_accuracy,
                "state": classifier.network.state_dict()}, buffer)
    location.write_whole(key.path, buffer.getvalue())


def load(location: Location, key: ClassifierKey, device: str | torch.device = "cpu"
         ) -> TrainedClassifier | None:
    """The cached classifier for ``key``, or None when there is none yet."""
    if not location.exists(key.path):
        return None
    where = location.url(key.path)
    try:
        saved = torch.load(io.BytesIO(location.read_bytes(key.path)), map_location="cpu",
                           weights_only=True)
        found = ClassifierKey(**saved["key"])
        network = EvaluationClassifier(key.num_classes)
        network.load_state_dict(saved["state"])
    except (KeyError, TypeError, RuntimeError, OSError) as e:
        raise ValueError(f"{where}: not an evaluation classifier: {e}") from e
    if found != key:
        raise ValueError(f"{where}: holds a classifier for {found}, expected {key}")
    return TrainedClassifier(network.to(device).eval(), float(saved["testAccuracy"]))


def cached(location: Location, key: ClassifierKey,
           train: Callable[[], tuple[Iterable[tuple[torch.Tensor, torch.Tensor]], int]],
           test: Callable[[], Iterable[tuple[torch.Tensor, torch.Tensor]]],
           device: str | torch.device = "cpu",
           say: Callable[[str], None] = print) -> TrainedClassifier:
    """Found by key in ``location`` (the dataset's directory), else trained and saved.
    ``train()`` gives (endless shuffled batches, batches per epoch); both sources are only
    opened on a miss."""
    found = load(location, key, device)
    if found is not None:
        return found
    say(f"evaluation classifier: training on {key.train_split!r} with every label "
        f"({key.epochs:g} epochs; once per dataset, then cached at {location.url(key.path)})")
    batches, steps_per_epoch = train()
    classifier = train_classifier(batches, steps_per_epoch, test(), key, device)
    say(f"evaluation classifier: held-out accuracy {classifier.test_accuracy:.4f} on "
        f"{key.test_split!r}")
    save(location, key, classifier)
    return classifier
