"""PreprocessConfig: validation, round trip through a dict, and the digest used in file names."""

from __future__ import annotations

import json

import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.preprocess.config import DEFAULT_SEGMENTS, PreprocessConfig, parse_segment


def test_defaults_match_the_agreed_interface() -> None:
    cfg = PreprocessConfig()
    assert (cfg.face_size, cfg.detector, cfg.landmarks, cfg.flow_method) == (128, "dlib", "auto", "tvl1")
    assert cfg.segments == ("onset:apex", "onset:mid", "mid:apex", "apex:offset") == DEFAULT_SEGMENTS


def test_round_trip_through_json() -> None:
    cfg = PreprocessConfig(face_size=96, flow_method="dis", segments=("onset:apex", "apex:offset"))
    data = json.loads(json.dumps(cfg.to_dict()))
    assert data["segments"] == ["onset:apex", "apex:offset"]
    back = PreprocessConfig.from_dict(data)
    assert back == cfg
    assert back.digest() == cfg.digest()


def test_digest_is_stable_and_sensitive() -> None:
    a, b = PreprocessConfig(), PreprocessConfig()
    assert a.digest() == b.digest()
    assert len(a.digest()) == 10 and all(c in "0123456789abcdef" for c in a.digest())
    assert PreprocessConfig(tvl1_warps=5).digest() != a.digest()
    assert PreprocessConfig(segments=("onset:apex",)).digest() != a.digest()


def test_unknown_key_names_the_source() -> None:
    with pytest.raises(LFDError, match="unknown preprocess setting.*face_sise") as err:
        PreprocessConfig.from_dict({"face_sise": 64}, source="configs/x.yaml")
    assert err.value.path == "configs/x.yaml"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"face_size": 8}, "face_size"),
        ({"detector": "mtcnn"}, "detector"),
        ({"landmarks": "guess"}, "landmarks"),
        ({"flow_method": "lucas"}, "flow_method"),
        ({"segments": ("apex:offset", "onset:apex")}, "must start with 'onset:apex'"),
        ({"segments": ("onset:apex", "onset:apex")}, "distinct"),
        ({"segments": ("onset:apex", "onset:peak")}, "bad flow segment"),
        ({"tvl1_warps": 0}, "tvl1_scales and tvl1_warps"),
        ({"tvl1_epsilon": 0.0}, "tvl1_epsilon"),
        ({"strain_sigma": -1.0}, "strain_sigma"),
        ({"render": "warped"}, "render"),
    ],
)
def test_bad_values_raise_lfd_error(changes: dict, message: str) -> None:
    with pytest.raises(LFDError, match=message):
        PreprocessConfig.from_dict(changes)


def test_segments_from_a_yaml_list_become_a_tuple() -> None:
    cfg = PreprocessConfig.from_dict({"segments": ["onset:apex", "mid:apex"]})
    assert cfg.segments == ("onset:apex", "mid:apex")
    hash(cfg)  # frozen and hashable


def test_parse_segment() -> None:
    assert parse_segment("mid:apex") == ("mid", "apex")
    for bad in ("onset", "onset:onset", "a:b", "onset:apex:offset"):
        with pytest.raises(LFDError):
            parse_segment(bad)
