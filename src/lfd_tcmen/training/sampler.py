"""An epoch's batches: a random order, or subject-balanced P x K batches (``train.sampler``)."""

from __future__ import annotations

import numpy as np

from lfd_tcmen.config.experiment import TrainConfig
from lfd_tcmen.evaluation.forward import batches


def epoch_batches(
    index: np.ndarray, subjects: np.ndarray, train: TrainConfig, rng: np.random.Generator
) -> list[np.ndarray]:
    """The training batches of one epoch; every sample of ``index`` exactly once.

    index: (N,) sample indices; subjects: (N,) the subject of each (any hashable labels).
    """
    if train.sampler == "random":
        return batches(rng.permutation(index), train.batch_size)
    return pk_batches(index, subjects, train.pk_subjects, train.batch_size // train.pk_subjects, rng)


def pk_batches(
    index: np.ndarray, subjects: np.ndarray, p: int, k: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Batches of up to ``p`` distinct subjects x up to ``k`` samples each.

    Each subject's samples are shuffled and cut into chunks of ``k`` (the last may be smaller);
    the chunks are shuffled and dealt into batches, a batch taking the next chunk of a subject
    it does not hold yet, until it has ``p`` subjects. A lone-sample last batch joins the one
    before it (statistics over a batch of one are undefined).
    """
    index = np.asarray(index)
    subjects = np.asarray(subjects)
    chunks: list[tuple[object, np.ndarray]] = []
    for subject in sorted(set(subjects.tolist()), key=str):
        own = rng.permutation(index[subjects == subject])
        chunks += [(subject, own[i : i + k]) for i in range(0, len(own), k)]
    pending = [chunks[i] for i in rng.permutation(len(chunks))]
    out: list[np.ndarray] = []
    while pending:
        taken: dict[object, np.ndarray] = {}
        rest = []
        for subject, chunk in pending:
            if len(taken) < p and subject not in taken:
                taken[subject] = chunk
            else:
                rest.append((subject, chunk))
        out.append(np.concatenate(list(taken.values())))
        pending = rest
    if len(out) > 1 and len(out[-1]) == 1:
        out[-2] = np.concatenate([out[-2], out.pop()])
    return out
