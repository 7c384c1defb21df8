"""Class protocols: consistency, labelling, exclusions, and the published counts they give."""

from __future__ import annotations

from collections import Counter

import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.data.datasets import load_samples
from lfd_tcmen.data.protocols import apply_protocol, get_protocol, protocol_names
from lfd_tcmen.data.record import Sample

REQUIRED = (
    "casme2-5class",
    "casme2-3class",
    "casme2-7class",
    "samm-5class",
    "samm-3class",
    "smic-3class",
    "megc2019-3class",
    "casme3-3class",
    "casme3-4class",
    "casme3-7class",
    "dfme-7class",
    "mmew-7class",
)


def sample(emotion: str, dataset: str = "casme2", row: int = 2) -> Sample:
    return Sample(
        dataset=dataset, subject="sub01", clip=f"c{row}", emotion=emotion, source=f"sheet.xlsx, row {row}"
    )


def test_required_protocols_exist():
    assert set(REQUIRED) <= set(protocol_names())


@pytest.mark.parametrize("name", protocol_names())
def test_every_class_is_reachable(name):
    protocol = get_protocol(name)
    assert set(protocol.mapping.values()) == set(protocol.class_names)
    assert len(set(protocol.class_names)) == protocol.num_classes
    for emotion, cls in protocol.mapping.items():
        assert protocol.class_of(emotion) == cls


def test_apply_labels_drops_excluded_and_keeps_order():
    samples = [
        sample("surprise", row=2),
        sample("others", row=3),
        sample("happiness", row=4),
        sample("fear", row=5),
    ]
    out = apply_protocol(samples, "casme2-3class")
    assert [(s.clip, s.class_name, s.label, s.protocol) for s in out] == [
        ("c2", "surprise", 2, "casme2-3class"),
        ("c4", "positive", 1, "casme2-3class"),
    ]
    assert samples[0].label is None  # inputs untouched (frozen)


def test_unknown_emotion_names_the_source():
    with pytest.raises(LFDError) as err:
        apply_protocol([sample("happiness"), sample("hapiness", row=7)], "casme2-5class")
    assert str(err.value).startswith(
        "sheet.xlsx, row 7: emotion 'hapiness' of casme2/sub01/c7 is not in protocol"
    )


def test_unknown_protocol():
    with pytest.raises(LFDError, match="unknown protocol 'casme2-9class'; known: "):
        get_protocol("casme2-9class")


def test_megc2019_excludes_casme2_fear_and_sadness_only():
    samples = [
        sample("fear", "casme2"),
        sample("sadness", "casme2", 3),
        sample("fear", "samm", 4),
        sample("sadness", "samm", 5),
        sample("other", "samm", 6),
        sample("negative", "smic", 7),
    ]
    out = apply_protocol(samples, "megc2019-3class")
    assert [(s.dataset, s.class_name) for s in out] == [
        ("samm", "negative"),
        ("samm", "negative"),
        ("smic", "negative"),
    ]


def test_real_megc2019_counts_per_dataset(shared_data):
    """SAMM under the MEGC2019 grouping gives the challenge's 92/26/15; the 2019 CASME II sheet
    gives 90/32/28 where the challenge list (drawn from an older sheet) has 88/32/25."""
    annotations = shared_data / "annotations"
    samm = load_samples(
        "samm", annotations / "samm" / "SAMM_Micro_FACS_Codes_v2.xlsx", protocol="megc2019-3class"
    )
    assert Counter(s.class_name for s in samm) == {"negative": 92, "positive": 26, "surprise": 15}
    casme2 = load_samples(
        "casme2", annotations / "casme2" / "CASME2-coding-20190701.xlsx", protocol="megc2019-3class"
    )
    assert Counter(s.class_name for s in casme2) == {"negative": 90, "positive": 32, "surprise": 28}
    assert len({s.subject for s in casme2}) == 24  # as the challenge: 24 CASME II subjects
    gt = load_samples(
        "megc2019", shared_data / "megc2019_composite" / "combined_3class_gt.csv", protocol="megc2019-3class"
    )
    casme2_ids = {s.sample_id for s in casme2}
    gt_casme2 = [s for s in gt if s.dataset == "casme2"]
    assert Counter(s.class_name for s in gt_casme2) == {"negative": 88, "positive": 32, "surprise": 25}
    assert all(s.sample_id in casme2_ids for s in gt_casme2)  # every challenge clip is in the 2019 sheet
    by_id = {s.sample_id: s.class_name for s in casme2}
    assert all(by_id[s.sample_id] == s.class_name for s in gt_casme2)  # and gets the same class
