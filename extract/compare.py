"""Is a new model worse than the old one, or only different by chance? A paired bootstrap over
the labelled documents both were scored on.

Topic and stance F1 on a few hundred labelled paragraphs move by 0.02-0.1 with which paragraphs
happen to be in the split, so "lower" alone is noise. Both models' per-document counts
(`EvalResult.document_counts`) are resampled together, documents drawn with replacement, and
each figure recomputed; the new model counts as worse on a figure only when it is lower in at
least `confidence` of the resamples.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from extract.evaluate import EvalResult

#: figure -> which Scores of `EvalResult.scores()` it averages (F1 of each, then their mean)
FIGURES: dict[str, tuple[int, ...]] = {"claims": (0,), "topics": (1,), "stance": (2, 3, 4), "quantities": (5,),
                                       "speakers": (6,)}


@dataclass
class Difference:
    """new - old on one figure: as observed, its 90% interval over the resamples, and the share
    of resamples in which the new model is lower."""

    observed: float
    low: float
    high: float
    share_lower: float

    def __str__(self) -> str:
        return f"{self.observed:+.3f} [{self.low:+.3f}, {self.high:+.3f}], lower in {self.share_lower:.0%}"


def _figure(counts: np.ndarray, scores: tuple[int, ...]) -> np.ndarray:
    """The figure (mean F1 of `scores`) per row of summed counts (rows x 21)."""
    f1s = []
    for k in scores:
        tp, fp, fn = counts[:, 3 * k], counts[:, 3 * k + 1], counts[:, 3 * k + 2]
        p = np.divide(tp, tp + fp, out=np.ones(len(tp)), where=(tp + fp) > 0)
        r = np.divide(tp, tp + fn, out=np.ones(len(tp)), where=(tp + fn) > 0)
        f1s.append(np.divide(2 * p * r, p + r, out=np.zeros(len(tp)), where=(p + r) > 0))
    return np.mean(f1s, axis=0)


def paired_bootstrap(old: EvalResult, new: EvalResult, figures: tuple[str, ...] = tuple(FIGURES),
                     rounds: int = 2000, seed: int = 0) -> dict[str, Difference]:
    """new - old on each figure, with how sure a resampling of the documents makes it."""
    a, b = np.asarray(old.document_counts, dtype=float), np.asarray(new.document_counts, dtype=float)
    if a.shape != b.shape or not len(a):
        raise ValueError("both models must be scored on the same documents")
    draws = np.random.default_rng(seed).integers(0, len(a), size=(rounds, len(a)))
    sums_a = np.stack([a[row].sum(axis=0) for row in draws])
    sums_b = np.stack([b[row].sum(axis=0) for row in draws])
    out: dict[str, Difference] = {}
    for name in figures:
        scores = FIGURES[name]
        diff = _figure(sums_b, scores) - _figure(sums_a, scores)
        observed = float(_figure(b.sum(axis=0, keepdims=True), scores)[0] - _figure(a.sum(axis=0, keepdims=True), scores)[0])
        out[name] = Difference(observed, float(np.quantile(diff, 0.05)), float(np.quantile(diff, 0.95)),
                               float((diff < 0).mean()))
    return out


def significantly_worse(differences: dict[str, Difference], confidence: float = 0.95,
                        tolerance: float = 0.0005) -> list[str]:
    """The figures on which the new model is lower (beyond `tolerance`) in at least `confidence`
    of the resamples."""
    return [name for name, d in differences.items() if d.observed < -tolerance and d.share_lower >= confidence]
