"""Does a conditional model respect its labels? A classifier trained on real records should
tell the generated classes apart about as well as it tells real held-out ones apart."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.encoding import flat_one_hot
from ..data.sequences import SequenceSet

MARGIN = 0.2  # a class whose generated records are classified this much worse than real ones is not respected


def label_check(generated: SequenceSet, real: SequenceSet, holdout: SequenceSet | None, seed: int = 0) -> dict[str, Any] | None:
    """Accuracy, by label, of a logistic regression trained on `real` and applied to generated
    records, beside its accuracy on real records it did not see (`holdout`, or up to 3-fold
    cross-validation); None when either set is unlabelled, or real records are too few to judge
    (fewer than two classes, a class of one record, no position that varies)."""
    if generated.labels is None or real.labels is None or len(set(real.labels)) < 2:
        return None
    smallest_class = min(np.unique(np.asarray(real.labels), return_counts=True)[1])
    if smallest_class < 2:
        return None
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    n_channels = len(real.alphabet)
    x_real, y_real = flat_one_hot(real.indices, n_channels), np.asarray(real.labels)
    informative = x_real.std(axis=0) > 0
    if not informative.any():
        return None
    x_real = x_real[:, informative]
    model = LogisticRegression(max_iter=1000, random_state=seed)
    if holdout is not None and holdout.labels is not None:
        model.fit(x_real, y_real)
        real_accuracy = float((model.predict(flat_one_hot(holdout.indices, n_channels)[:, informative]) == np.asarray(holdout.labels)).mean())
    else:
        predicted = cross_val_predict(model, x_real, y_real, cv=min(3, smallest_class))
        real_accuracy = float((predicted == y_real).mean())
        model.fit(x_real, y_real)
    y_generated = np.asarray(generated.labels)
    predicted = model.predict(flat_one_hot(generated.indices, n_channels)[:, informative])
    by_label = {str(label): float((predicted[y_generated == label] == label).mean())
                for label in sorted(set(generated.labels))}
    poor = sorted(label for label, accuracy in by_label.items() if accuracy < real_accuracy - MARGIN)
    reason = None
    if poor:
        reason = (f"a classifier trained on real records recognises generated {', '.join(map(repr, poor))} "
                  f"records at {', '.join(f'{by_label[p]:.0%}' for p in poor)}, real ones at {real_accuracy:.0%}")
    return {"accuracy_generated": by_label, "accuracy_real": real_accuracy, "respected": not poor, "reason": reason}
