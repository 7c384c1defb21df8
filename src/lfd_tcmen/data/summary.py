"""Counts that describe a dataset under a protocol: samples, subjects, samples per class."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from lfd_tcmen.data.protocols import get_protocol
from lfd_tcmen.data.record import Sample


def summarize(samples: Sequence[Sample], protocol: str | None = None) -> dict[str, object]:
    """{"n_samples", "n_subjects", "class_counts"} of ``samples``.

    With ``protocol`` the samples must already carry its labels (``apply_protocol``), and
    class_counts lists every class in class order, zeros included. Without it, class_counts
    counts the raw emotion words, most frequent first. Subjects are counted qualified by
    dataset, so SAMM "006" and CAS(ME)^3 "006" are two subjects.
    """
    if protocol is not None:
        names = get_protocol(protocol).class_names
        counts = Counter(s.class_name for s in samples)
        class_counts = {name: counts.get(name, 0) for name in names}
    else:
        class_counts = dict(Counter(s.emotion for s in samples).most_common())
    return {
        "n_samples": len(samples),
        "n_subjects": len({s.qualified_subject for s in samples}),
        "class_counts": class_counts,
    }


def frames_missing(sample: Sample) -> str | None:
    """What of ``sample``'s frames is absent (None: all there): its clip folder, or how many of
    its frames, naming the first; with the sheet row that names the clip."""
    if not sample.frames:
        return None
    row = f" (named in {sample.source})" if sample.source else ""
    folder = Path(sample.frames[0]).parent
    if not folder.is_dir():
        return f"{sample.sample_id}: clip folder not found: {folder}{row}"
    absent = [p for p in sample.frames if not Path(p).is_file()]
    if not absent:
        return None
    return (
        f"{sample.sample_id}: {len(absent)} of {len(sample.frames)} frames not found, first {absent[0]}{row}"
    )


def format_summary(summary: dict[str, object], title: str = "") -> str:
    """Plain-text table of a ``summarize`` result."""
    counts = summary["class_counts"]
    assert isinstance(counts, dict)
    total = max(int(summary["n_samples"]), 1)  # type: ignore[call-overload]
    width = max([len("class")] + [len(str(k)) for k in counts])
    lines = [title] if title else []
    lines += [f"samples:  {summary['n_samples']}", f"subjects: {summary['n_subjects']}", ""]
    lines.append(f"{'class':<{width}}  {'count':>6}  {'share':>6}")
    lines.append(f"{'-' * width}  {'-' * 6}  {'-' * 6}")
    for name, count in counts.items():
        lines.append(f"{name:<{width}}  {count:>6}  {100.0 * count / total:>5.1f}%")
    return "\n".join(lines)
