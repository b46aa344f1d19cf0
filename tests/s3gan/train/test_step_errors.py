"""A non-finite loss error keeps its message across processes (Ray pickles it)."""

import pickle

from s3gan.train.step import NonFiniteLossError


def test_non_finite_loss_error_survives_pickling():
    error = NonFiniteLossError(7, "discriminator", {"d_hinge": float("nan"), "d_class": 0.5})
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) and "G step 7" in str(copy) and "d_hinge = nan" in str(copy)
    assert copy.bad_terms.keys() == {"d_hinge"}
