"""Subject ids: each dataset's spelling, as its folders write it, whichever file it was read from."""

from __future__ import annotations

import pytest

from lfd_tcmen.data.record import Sample
from lfd_tcmen.data.subjects import canonical_subject, qualified_subject


@pytest.mark.parametrize(
    "dataset, written, canonical",
    [
        ("casme2", "1", "sub01"),  # coding sheet and MEGC2019 list
        ("casme2", "sub01", "sub01"),
        ("samm", "6", "006"),  # MEGC2019 list; the folders say 006
        ("samm", "006", "006"),
        ("smic", "s01", "s1"),  # MEGC2019 list; the folders say s1
        ("smic", "S3", "s3"),
        ("casme3c", "1", "01"),
        ("dfme", "1", "sub0001"),
        ("mmew", "3", "S03"),
        ("casme3", "spNO.1", "spNO.1"),  # Part A keeps the sheet's spelling
    ],
)
def test_canonical_subject(dataset, written, canonical):
    assert canonical_subject(dataset, written) == canonical


def test_qualified_subject_is_what_samples_and_folds_use():
    assert qualified_subject("samm", "006") == "samm/006"
    sample = Sample(dataset="samm", subject="006", clip="006_1_2", emotion="anger")
    assert sample.qualified_subject == qualified_subject("samm", "006")
