"""The experiment document's sections, with the paper's defaults.

Source of each default, by precedence (METHOD.md): the paper's text ("paper"), then the
authors' code google/compare_gan ("compare_gan") where the paper is silent, then our own
choice, said as such. Field names are snake_case in Python and camelCase in YAML and the CRD.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from s3gan.spec.methods import TRAITS, Method

GROUP = "s3gan.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "S3GANExperiment"
PLURAL = "s3ganexperiments"
RESOLUTIONS = (32, 64, 128, 256)  # the architecture tables of s3gan.nn.biggan
# Hierarchical z: one chunk for G's dense layer and one per G block (s3gan.nn.biggan.TABLES).
Z_CHUNKS = {32: 4, 64: 5, 128: 6, 256: 7}
DIFF_AUGMENT_POLICIES = ("color", "translation", "cutout")

# Bounds on free text: with every list bounded too, a whole spec stays far below the API server's
# limits (1 MiB per ConfigMap, 256 KiB for the last-applied annotation of `kubectl apply`).
Location = Annotated[str, StringConstraints(min_length=1, max_length=2048)]  # a path or URI
ShortText = Annotated[str, StringConstraints(max_length=253)]

DnsLabel = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
]
PositiveInt = Annotated[int, Field(ge=1)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class Labels(Section):
    """Which labels the real images have (paper section 3)."""

    # paper: k ∈ {2.5, 5, 10, 20}% per class; 10% is the headline result.
    fraction: float = Field(0.1, gt=0.0, le=1.0)
    # paper Table 5: hard S²L labels beat soft ones; every -CO run used soft (section 4).
    pseudo_labels: Literal["hard", "soft"] | None = None
    # paper: k ∈ {50, 100, 200, 500, 1000} k-means clusters, 50 was best.
    clusters: int = Field(50, ge=2, le=100_000)


class Dataset(Section):
    """Shards written by ``s3gan data convert``: a local path or an s3:// URI."""

    uri: Location
    resolution: Literal[32, 64, 128, 256] = 128  # paper: ImageNet at 128×128
    num_classes: PositiveInt = 1000
    train_split: ShortText = "train"
    eval_split: ShortText = "validation"  # paper: FID against the ImageNet validation set


class Model(Section):
    """BigGAN G and D (paper appendix B) and the switches METHOD.md lists."""

    ch: PositiveInt = 96  # paper Tables 6–11: ch = 96
    z_dim: PositiveInt = 120  # paper section 4
    shared_embedding_dim: PositiveInt = 128  # paper Table 10: embedding 1000×128
    hierarchical_z: bool = True  # paper appendix B: z split into chunks per block
    attention: bool = True  # paper appendix B: non-local block at 64×64 (at 128)
    cbn_gain: Literal["gamma", "one-plus-gamma"] = "gamma"  # compare_gan: γ = W·c
    upsampling: Literal["zero-insertion", "nearest"] = "zero-insertion"  # compare_gan: unpool
    output_range: Literal["zero-one", "minus-one-one"] = "zero-one"  # compare_gan: (tanh+1)/2
    init: Literal["orthogonal", "normal", "xavier"] = "orthogonal"  # compare_gan config
    spectral_norm: bool = True  # paper section 4: in G and D


class Pretraining(Section):
    """The feature extractor F, a ResNet-v2 (paper section 4, "pre-training")."""

    depth: Literal[26, 50, 101] = 50  # paper: ResNet-50 v2
    widening: PositiveInt = 16  # paper: widening factor 16 (base width 16·k)
    # paper: 65. Fractions are for data too large to pass over in the time at hand (one pass of
    # the B part over the split is an epoch); the steps are round(epochs · steps per epoch).
    epochs: float = Field(65, gt=0.0, le=10_000)
    batch_size: PositiveInt = 2048  # paper
    unlabelled_per_batch: PositiveInt = 1536  # paper: B = 1536
    base_learning_rate: float = Field(0.1, gt=0.0)  # paper: lr = 0.1·B/256
    warmup_epochs: float = Field(5, ge=0.0, le=10_000)  # paper
    # paper: ÷10 at 45 and 55
    decay_epochs: tuple[Annotated[float, Field(gt=0.0, le=10_000)], ...] = Field(
        (45, 55), max_length=16)
    decay_factor: float = Field(0.1, gt=0.0, le=1.0)  # paper
    momentum: Probability = 0.9  # ours: paper silent; Goyal et al. (2017), which it follows
    weight_decay: float = Field(1e-4, ge=0.0)  # ours: paper silent; Goyal et al. (2017)
    gamma: float = Field(0.5, ge=0.0)  # paper: γ = 0.5 in eq. 2
    # Paper silent, so off; S⁴L (Zhai et al. 2019), whose eq. 2 this is, uses crops and flips.
    # At CPU scale (≤ 8 epochs) they cost c_S2L and k-means label accuracy (docs/pretraining.md).
    augment: tuple[Literal["crop", "flip"], ...] = Field((), max_length=2)
    # ours: images per forward of F on a replica (before the 4 rotations), gradients accumulated
    # over a replica's batch; None: the whole batch at once.
    micro_batch: PositiveInt | None = None
    # ours: as training.precision, bf16 autocast for F's convolutions; the weights, SGD's
    # momentum, BatchNorm statistics and the losses stay fp32.
    precision: Literal["fp32", "bf16"] | None = Field(None, description=(
        "bf16 or fp32 for F's training steps; unset: bf16 when resources.accelerator.kind is "
        "gpu or tpu or F trains on a CUDA device, fp32 on the CPU"))


class Ema(Section):
    enabled: bool = True  # compare_gan BigGAN-128 config
    decay: float = Field(0.9999, gt=0.0, lt=1.0)  # compare_gan
    start_step: int = Field(40_000, ge=0)  # compare_gan


class Checkpointing(Section):
    every_steps: PositiveInt = 5_000  # ours
    every_minutes: float = Field(30.0, gt=0.0)  # ours: bounds work lost to preemption
    keep: PositiveInt = 3  # ours: the last K; best-FID and last-good are kept besides


class Collapse(Section):
    """Detection and automatic rollback (BigGAN section 4.2's collapse signals)."""

    rollback: bool = False
    max_rollbacks: int = Field(2, ge=0)
    learning_rate_factor: float = Field(0.5, gt=0.0, lt=1.0)


class Training(Section):
    """GAN training (paper section 4)."""

    steps: PositiveInt = 250_000  # paper: G steps
    global_batch: PositiveInt = 2048  # paper
    micro_batch: PositiveInt | None = None  # per worker and forward; None: no accumulation
    g_learning_rate: float = Field(5e-5, gt=0.0)  # paper (compare_gan's config: 1e-4)
    d_learning_rate: float = Field(2e-4, gt=0.0)  # paper (compare_gan's config: 5e-4)
    adam_beta1: Probability = 0.0  # paper
    adam_beta2: Probability = 0.999  # paper
    d_steps: PositiveInt = 2  # paper: 2 D steps per G step
    alpha: float = Field(0.2, ge=0.0)  # paper: eq. 5, α = 0.2
    beta: float | None = Field(None, ge=0.0)  # paper: eq. 4; None → 0.5 S³GAN, 1.0 S³GAN-CO
    # paper: λ ∈ {0.1, 0.2, 0.4} for eq. 3, the pick is not reported; ours: the middle one.
    lambda_: float = Field(0.2, ge=0.0, alias="lambda")
    # compare_gan: rotate the last n of each batch, n a fixed share (no default there); ours 1/4.
    rotation_fraction: float = Field(0.25, gt=0.0, le=1.0)
    ema: Ema = Ema()
    # DiffAugment (Zhao et al. 2020); the paper's configurations keep it off.
    diff_augment: tuple[Literal["color", "translation", "cutout"], ...] = ()
    orthogonal_regularization: float = Field(0.0, ge=0.0)  # paper: off (BigGAN: 1e-4)
    # ours: bf16 autocast on accelerators (the MXU's and tensor cores' type), fp32 on the CPU;
    # weights, optimiser state, spectral norm, BatchNorm statistics and losses stay fp32.
    precision: Literal["fp32", "bf16"] | None = Field(None, description=(
        "bf16 or fp32; unset: bf16 when resources.accelerator.kind is gpu or tpu or the step "
        "runs on a CUDA device, fp32 on the CPU"))
    channels_last: bool = False
    # ours: torch.compile of G's forward and D~ (s3gan.train.compiled); off because the first
    # steps then take minutes to compile. Not for TPU: torch-xla compiles the whole update.
    compile: bool = Field(False, description=(
        "torch.compile G and D (CPU and GPU; TPU steps are XLA graphs already)"))
    # ours: the fused Adam kernel where torch has one for the device.
    fused_adam: bool | None = Field(None, description=(
        "Adam as one fused kernel per network; unset: on for CUDA, off elsewhere"))
    log_every_steps: PositiveInt = 100
    checkpoint: Checkpointing = Checkpointing()
    collapse: Collapse = Collapse()


class Evaluation(Section):
    """FID and IS (paper section 4): 50k samples, 5 sets, mean reported."""

    every_steps: PositiveInt = 10_000  # ours
    samples_per_set: int = Field(50_000, ge=2)  # paper
    sets: PositiveInt = 5  # paper
    real_samples: PositiveInt | None = None  # None: the whole evaluation split (50k val)
    inception_weights: Location | None = None  # a file or URI; None: torch-fidelity's download
    truncation: float | None = Field(None, gt=0.0)  # paper: no truncation
    standing_stats_samples: PositiveInt = 16_384  # compare_gan: standing BN statistics
    # Classification Accuracy Score (ours, s3gan.eval.class_accuracy): samples per class for
    # the share put in the class asked for (0: off), and the epochs of the evaluation-only
    # classifier, trained once per dataset on every train label.
    class_accuracy_samples_per_class: int = Field(100, ge=0)
    classifier_epochs: float = Field(4, gt=0.0, le=1_000)  # a fraction for large splits


class Accelerator(Section):
    kind: Literal["cpu", "gpu", "tpu"] = "cpu"
    # GKE node label value: cloud.google.com/gke-accelerator (GPU) or gke-tpu-accelerator.
    type: Annotated[str, StringConstraints(max_length=63)] | None = None
    topology: str | None = Field(None, pattern=r"^\d+(x\d+){1,2}$")  # TPU slice, e.g. 2x2x4
    per_worker: PositiveInt = 1  # GPUs per worker, or TPU chips per host


class Resources(Section):
    accelerator: Accelerator = Accelerator()
    workers: PositiveInt = 1  # Ray Train workers (one per TPU host)
    cpus_per_worker: float = Field(4.0, gt=0.0)
    memory_per_worker: str = Field("16Gi", max_length=32,
                                   pattern=r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$")


class Credentials(Section):
    """A reference only: the spec never holds a key."""

    secret_name: DnsLabel | None = None  # keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
    service_account: DnsLabel | None = None  # Workload Identity / IRSA


class Storage(Section):
    runs: Location = "runs"  # root of runs/<experiment>/; path or s3://
    endpoint: Location | None = None  # S3-compatible endpoint override (GCS, on-prem)
    region: Annotated[str, StringConstraints(max_length=63)] | None = None
    credentials: Credentials = Credentials()


class Sweep(Section):
    grid: dict[str, tuple[float | int | str, ...]] = {}
    seeds: PositiveInt = 1  # paper: 3 seeds, median reported
    scheduler: Literal["none", "asha"] = "none"
    max_concurrent_trials: PositiveInt | None = None


class Seeds(Section):
    """Separate streams so a GAN-seed sweep reuses one F and one labelled mask."""

    gan: int = Field(0, ge=0)
    mask: int = Field(0, ge=0)
    pretraining: int = Field(0, ge=0)


class Cluster(Section):
    """How the operator runs the experiment on Kubernetes."""

    # None: the operator's configured Ray image (which the chart's allowed images must cover)
    image: Annotated[str, StringConstraints(max_length=512)] | None = None
    backoff_limit: int = Field(2, ge=0)  # RayJob retries; each resumes from storage
    active_deadline_seconds: PositiveInt | None = None
    ttl_seconds_after_finished: int = Field(3600, ge=0)
    queue_name: DnsLabel | None = None  # Kueue LocalQueue


class ExperimentSpec(Section):
    method: Method = Method.S3GAN
    labels: Labels = Labels()
    dataset: Dataset
    model: Model = Model()
    pretraining: Pretraining = Pretraining()
    training: Training = Training()
    evaluation: Evaluation = Evaluation()
    resources: Resources = Resources()
    storage: Storage = Storage()
    sweep: Sweep | None = None
    seeds: Seeds = Seeds()
    cluster: Cluster = Cluster()
    suspend: bool = False

    @property
    def traits(self):
        return TRAITS[self.method]

    @property
    def beta(self) -> float:
        return self.training.beta if self.training.beta is not None else self.traits.default_beta

    @property
    def pseudo_labels(self) -> str:
        return self.labels.pseudo_labels or self.traits.default_pseudo_labels

    @property
    def micro_batch(self) -> int:
        return self.training.micro_batch or self.training.global_batch // self.resources.workers

    @property
    def accumulation(self) -> int:
        """Global batch = micro-batch × accumulation × workers (checked on load)."""
        return self.training.global_batch // (self.micro_batch * self.resources.workers)


class Metadata(BaseModel):
    # Kubernetes adds server-side fields (uid, resourceVersion, …): accepted and ignored.
    model_config = ConfigDict(extra="ignore", frozen=True)
    name: DnsLabel
    namespace: DnsLabel | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class Experiment(BaseModel):
    """The ``S3GANExperiment`` document: what ``s3gan run`` and ``kubectl apply`` both take."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )
    api_version: Literal["s3gan.io/v1alpha1"]
    kind: Literal["S3GANExperiment"]
    metadata: Metadata
    spec: ExperimentSpec
