"""Every paper method trains on the tiny config: finite losses, gradients where they belong."""

from __future__ import annotations

import pytest
import torch

from s3gan.losses import discriminator_hinge, real_rotation_loss
from s3gan.methods import build_method
from s3gan.rotation import rotation_batch
from s3gan.spec.methods import TRAITS, Method

from .conftest import BATCH, CLASSES, CLUSTERS, Setup, inferred_for, make_batch, tiny_spec

ROTATING = {Method.SINGLE_LABEL_SS, Method.CLUSTERING_SS, Method.S3GAN, Method.S3GAN_CO}
CO_TRAINING = {Method.S2GAN_CO, Method.S3GAN_CO}


def _grad_norm(module: torch.nn.Module) -> float:
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    return float(sum(g.abs().sum() for g in grads)) if grads else 0.0


def _zero_grads(*modules: torch.nn.Module) -> None:
    for module in modules:
        module.zero_grad(set_to_none=True)


def _finite_sum_of_terms(loss) -> None:
    assert torch.isfinite(loss.total)
    assert all(torch.isfinite(t) for t in loss.terms.values())
    assert loss.total.item() == pytest.approx(sum(t.item() for t in loss.terms.values()))


def test_discriminator_loss_is_finite_and_trains_every_head_the_method_has(setup):
    m = setup.spec.method
    _zero_grads(setup.D, setup.G)
    loss = setup.d_loss()
    assert set(loss.terms) == {"d_hinge"} | ({"d_rotation"} if m in ROTATING else set()) | (
        {"d_class"} if m in CO_TRAINING else set())
    _finite_sum_of_terms(loss)
    loss.total.backward()
    D = setup.D
    assert _grad_norm(D.blocks) > 0 and _grad_norm(D.real_fake) > 0
    heads = setup.method.heads
    for name, present in (("projection", heads.projection), ("rotation_head", heads.rotation),
                          ("class_head", heads.classifier)):
        head = getattr(D, name)
        assert (head is not None) == present, name
        if present:
            assert _grad_norm(head) > 0, name
    assert _grad_norm(setup.G) == 0.0  # the fakes came in detached


def test_generator_loss_is_finite_and_trains_the_generator(setup):
    m = setup.spec.method
    _zero_grads(setup.D, setup.G)
    loss = setup.g_loss()
    assert set(loss.terms) == {"g_adversarial"} | ({"g_rotation"} if m in ROTATING else set())
    _finite_sum_of_terms(loss)
    loss.total.backward()
    assert _grad_norm(setup.G) > 0
    if setup.method.heads.classifier:  # c_CT sees no fakes: nothing reaches it from L_G
        assert _grad_norm(setup.D.class_head) == 0.0


def test_method_shape_follows_the_paper(setup):
    m, method = setup.spec.method, setup.method
    expected_classes = {Method.SINGLE_LABEL: 1, Method.SINGLE_LABEL_SS: 1,
                        Method.CLUSTERING: CLUSTERS, Method.CLUSTERING_SS: CLUSTERS}
    assert method.num_classes == expected_classes.get(m, CLASSES)
    assert method.heads.projection == (m not in (Method.SINGLE_LABEL, Method.SINGLE_LABEL_SS))
    assert method.heads.rotation == (m in ROTATING) == TRAITS[m].rotation_self_supervision
    assert method.heads.classifier == (m in CO_TRAINING)
    assert method.reads_only_labelled == (m is Method.BIGGAN_K)
    labels = method.sample_fake_labels(64, torch.Generator().manual_seed(0))
    assert labels.dtype == torch.int64 and labels.shape == (64,)
    assert 0 <= int(labels.min()) and int(labels.max()) < method.num_classes


def test_single_label_has_no_projection_parameters():
    s = Setup(tiny_spec(Method.SINGLE_LABEL))
    assert s.D.projection is None
    assert not any("projection" in name for name, _ in s.D.named_parameters())
    assert s.fake_labels.eq(0).all()


def test_one_concatenated_pass_equals_separate_passes():
    s = Setup(tiny_spec(Method.BIGGAN))
    s.D.eval()  # hold spectral norm's power iteration still between the passes compared
    calls = []

    def critic(x):
        calls.append(x.shape[0])
        return s.D.features(x)

    loss = s.method.discriminator_loss(s.D, critic, s.reals, s.batch, s.fakes.detach(),
                                       s.fake_labels)
    assert calls == [2 * BATCH]
    separate = discriminator_hinge(s.D(s.reals, s.batch.labels), s.D(s.fakes, s.fake_labels))
    assert loss.terms["d_hinge"].item() == pytest.approx(separate.item(), rel=1e-5)


def test_rotation_terms_follow_eqs_4_and_5_with_the_specs_weights():
    spec = tiny_spec(Method.S3GAN, alpha=0.3, beta=0.7, rotation_fraction=0.25)
    s = Setup(spec)
    s.D.eval()  # hold spectral norm's power iteration still between the passes compared
    n = 2  # a quarter of the batch of 8
    calls = []

    def critic(x):
        calls.append(x.shape[0])
        return s.D.features(x)

    d = s.method.discriminator_loss(s.D, critic, s.reals, s.batch, s.fakes.detach(),
                                    s.fake_labels)
    g = s.method.generator_loss(s.D, critic, s.fakes, s.fake_labels)
    assert calls == [BATCH + 3 * n + BATCH, BATCH + 3 * n]
    rotated, labels = rotation_batch(s.reals, n)
    expected = real_rotation_loss(s.D.rotation_head(s.D.features(rotated)), labels, 0.7)
    assert d.terms["d_rotation"].item() == pytest.approx(expected.item(), rel=1e-5)
    rotated, labels = rotation_batch(s.fakes, n)
    expected = real_rotation_loss(s.D.rotation_head(s.D.features(rotated)), labels, 0.3)
    assert g.terms["g_rotation"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_beta_defaults_to_the_papers_per_method_value():
    assert build_method(tiny_spec(Method.S3GAN_CO)).rotation.beta == 1.0
    s3gan = tiny_spec(Method.S3GAN)
    assert build_method(s3gan, inferred_for(s3gan)).rotation.beta == 0.5


@pytest.mark.parametrize("method", sorted(CO_TRAINING, key=lambda m: m.value), ids=str)
def test_class_term_sees_only_labelled_reals(method):
    s = Setup(tiny_spec(method))
    s.D.eval()  # hold spectral norm's power iteration still between the passes compared
    labelled = [True, False, True, False, False, False, True, False]
    base = make_batch(labelled, [0, 1, 2, 3, 0, 1, 2, 3])
    relabelled_unlabelled = make_batch(labelled, [0, 3, 2, -1, 2, 0, 2, 1])
    relabelled_labelled = make_batch(labelled, [1, 1, 2, 3, 0, 1, 2, 3])
    with torch.no_grad():
        reference = s.d_loss(base)
        same = s.d_loss(relabelled_unlabelled)
        changed = s.d_loss(relabelled_labelled)
    for term in ("d_class", "d_hinge"):
        assert torch.equal(reference.terms[term], same.terms[term]), term
    assert not torch.equal(reference.terms["d_class"], changed.terms["d_class"])


def test_co_training_labels_unlabelled_reals_with_c_ct_soft_by_default():
    s = Setup(tiny_spec(Method.S2GAN_CO))
    h = s.D.features(s.reals)
    labels = s.method.real_labels(s.batch, h, s.D).labels
    expected_soft = torch.softmax(s.D.class_head(h), dim=1)
    unlabelled = ~s.batch.labelled
    assert labels.shape == (BATCH, CLASSES) and not labels.requires_grad
    assert torch.allclose(labels[unlabelled], expected_soft[unlabelled])
    truth = torch.nn.functional.one_hot(s.batch.labels, CLASSES).float()
    assert torch.equal(labels[s.batch.labelled], truth[s.batch.labelled])


def test_co_training_hard_option_uses_c_cts_argmax():
    s = Setup(tiny_spec(Method.S3GAN_CO).model_copy(
        update={"labels": tiny_spec(Method.S3GAN_CO).labels.model_copy(
            update={"pseudo_labels": "hard"})}))
    h = s.D.features(s.reals)
    labels = s.method.real_labels(s.batch, h, s.D).labels
    argmax = s.D.class_head(h).argmax(dim=1)
    unlabelled = ~s.batch.labelled
    assert torch.equal(labels[unlabelled].argmax(dim=1), argmax[unlabelled])
    assert torch.equal(labels.sum(dim=1), torch.ones(BATCH))


def test_pseudo_labels_carry_no_gradient_into_c_ct():
    s = Setup(tiny_spec(Method.S2GAN_CO, **{"lambda": 0.0}))
    _zero_grads(s.D)
    s.d_loss().total.backward()
    assert _grad_norm(s.D.class_head) == 0.0  # λ = 0: the projection's use of c_CT is stopped
    assert _grad_norm(s.D.projection) > 0
