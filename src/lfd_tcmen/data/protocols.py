"""Class protocols: which emotions a benchmark keeps, and the class each becomes.

A protocol maps the emotion words of the annotations (lower case, as loaders return them) to
class names; the class index is the position in ``class_names``. Emotions in ``excluded`` are
dropped (e.g. "others" in a 3-class protocol); any other emotion the protocol does not know is
an error naming the sample's file and row, so a typo in a coding sheet never silently vanishes.

Sources for the conventions:
- MEGC2019 cross-database challenge (the PDF in the composite folder; See et al., FG 2019):
  negative = Repression, Anger, Contempt, Disgust, Fear, Sadness; positive = Happiness;
  surprise = Surprise; other emotions omitted. Its table footnote: CASME II's negative class
  is Disgust and Repression only (its few fear/sadness clips are left out). SMIC's labels are
  already negative/positive/surprise.
- CASME II 5 classes (happiness, disgust, repression, surprise, others; fear and sadness left
  out for having too few samples), the baseline setting of the CASME II paper (Yan et al. 2014).
- SAMM 5 classes (happiness, anger, contempt, surprise, other; the 136-sample set used in
  MEGC2018 emotion-based experiments and most SAMM papers).
- CAS(ME)^3 (Li et al., TPAMI 2023): 3 classes (negative = anger, disgust, fear, sad;
  positive = happy; surprise), 4 classes (the 3 + others) and 7 classes (happy, disgust,
  fear, anger, sad, surprise, others). Part C is labelled directly in the coarse words.
- DFME (Zhao et al., TAC 2024): 7 classes, happiness, disgust, fear, surprise, anger, sadness,
  contempt.
- MMEW (Ben et al., TPAMI 2021): its 7 labels (happiness, surprise, anger, disgust, fear,
  sadness, others); mmew-3class groups them the MEGC2019 way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.core.registry import Registry
from lfd_tcmen.data.record import Sample


@dataclass(frozen=True)
class Protocol:
    """A classification protocol.

    mapping: emotion word -> class name (every class name must be in ``class_names``).
    excluded: emotion words whose samples are dropped.
    excluded_by_dataset: extra exclusions for one dataset only (MEGC2019 leaves CASME II's
        fear and sadness out while SAMM's count as negative).
    """

    name: str
    class_names: tuple[str, ...]
    mapping: Mapping[str, str]
    excluded: frozenset[str] = frozenset()
    excluded_by_dataset: Mapping[str, frozenset[str]] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.mapping.values()) - set(self.class_names))
        if unknown:
            raise ValueError(f"protocol {self.name}: classes {unknown} not in class_names")
        both = sorted(set(self.mapping) & set(self.excluded))
        if both:
            raise ValueError(f"protocol {self.name}: {both} both mapped and excluded")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def is_excluded(self, emotion: str, dataset: str = "") -> bool:
        return emotion in self.excluded or emotion in self.excluded_by_dataset.get(dataset, frozenset())

    def class_of(self, emotion: str, dataset: str = "") -> str | None:
        """Class name of ``emotion``, None if excluded; KeyError if unknown to the protocol."""
        if self.is_excluded(emotion, dataset):
            return None
        return self.mapping[emotion]

    def index_of(self, class_name: str) -> int:
        return self.class_names.index(class_name)


PROTOCOLS: Registry[Protocol] = Registry("protocol")


def register_protocol(protocol: Protocol) -> Protocol:
    """Register ``protocol`` under its own name (``ValueError`` if the name is taken)."""
    return PROTOCOLS.add(protocol.name, protocol)


def _identity(*words: str) -> dict[str, str]:
    return {w: w for w in words}


def _group(groups: Mapping[str, Iterable[str]]) -> dict[str, str]:
    return {word: cls for cls, words in groups.items() for word in words}


# Emotion words of each dataset, grouped the MEGC2019 way.
_NEGATIVE = ("repression", "anger", "contempt", "disgust", "fear", "sadness", "sad", "negative")
_POSITIVE = ("happiness", "happy", "positive")
_SURPRISE = ("surprise",)
_MEGC = _group({"negative": _NEGATIVE, "positive": _POSITIVE, "surprise": _SURPRISE})
_OTHERS = frozenset({"others", "other"})
NEG_POS_SUR = ("negative", "positive", "surprise")

# --- CASME II ------------------------------------------------------------------------------
register_protocol(
    Protocol(
        "casme2-5class",
        ("happiness", "disgust", "repression", "surprise", "others"),
        {**_identity("happiness", "disgust", "repression", "surprise", "others"), "other": "others"},
        excluded=frozenset({"fear", "sadness"}),
        description="CASME II 5 emotions; fear and sadness left out",
    )
)
register_protocol(
    Protocol(
        "casme2-3class",
        NEG_POS_SUR,
        _group(
            {"negative": ("disgust", "repression", "negative"), "positive": _POSITIVE, "surprise": _SURPRISE}
        ),
        excluded=_OTHERS | {"fear", "sadness"},
        description="MEGC2019 grouping for CASME II: negative = disgust + repression",
    )
)
register_protocol(
    Protocol(
        "casme2-7class",
        ("happiness", "disgust", "repression", "surprise", "sadness", "fear", "others"),
        {
            **_identity("happiness", "disgust", "repression", "surprise", "sadness", "fear", "others"),
            "other": "others",
        },
        description="all 7 CASME II emotion labels",
    )
)

# --- SAMM ----------------------------------------------------------------------------------
register_protocol(
    Protocol(
        "samm-5class",
        ("happiness", "anger", "contempt", "surprise", "other"),
        {**_identity("happiness", "anger", "contempt", "surprise", "other"), "others": "other"},
        excluded=frozenset({"disgust", "fear", "sadness"}),
        description="SAMM 5 emotions (136 samples); disgust, fear, sadness left out",
    )
)
register_protocol(
    Protocol(
        "samm-3class",
        NEG_POS_SUR,
        _MEGC,
        excluded=_OTHERS,
        description="MEGC2019 grouping for SAMM: negative = anger, contempt, disgust, fear, sadness",
    )
)

# --- SMIC ----------------------------------------------------------------------------------
register_protocol(
    Protocol(
        "smic-3class",
        NEG_POS_SUR,
        _identity(*NEG_POS_SUR),
        description="SMIC's own 3 labels",
    )
)

# --- MEGC2019 composite (CASME II + SAMM + SMIC) --------------------------------------------
register_protocol(
    Protocol(
        "megc2019-3class",
        NEG_POS_SUR,
        _MEGC,
        excluded=_OTHERS,
        excluded_by_dataset={"casme2": frozenset({"fear", "sadness"})},
        description="MEGC2019 composite: negative/positive/surprise across CASME II, SAMM, SMIC",
    )
)

# --- CAS(ME)^3 -----------------------------------------------------------------------------
register_protocol(
    Protocol(
        "casme3-3class",
        NEG_POS_SUR,
        _MEGC,
        excluded=_OTHERS,
        description="CAS(ME)^3: negative (anger, disgust, fear, sad), positive (happy), surprise",
    )
)
register_protocol(
    Protocol(
        "casme3-4class",
        (*NEG_POS_SUR, "others"),
        {**_MEGC, "others": "others", "other": "others"},
        description="CAS(ME)^3: negative, positive, surprise, others",
    )
)
register_protocol(
    Protocol(
        "casme3-7class",
        ("happy", "disgust", "fear", "anger", "sad", "surprise", "others"),
        {
            **_identity("happy", "disgust", "fear", "anger", "sad", "surprise", "others"),
            "happiness": "happy",
            "sadness": "sad",
            "other": "others",
        },
        description="CAS(ME)^3 Part A's 7 emotion labels",
    )
)

# --- DFME, MMEW ----------------------------------------------------------------------------
_SEVEN = ("happiness", "disgust", "fear", "surprise", "anger", "sadness", "contempt")
register_protocol(
    Protocol(
        "dfme-7class",
        _SEVEN,
        {**_identity(*_SEVEN), "happy": "happiness", "sad": "sadness"},
        excluded=_OTHERS,
        description="DFME's 7 emotions",
    )
)
register_protocol(
    Protocol(
        "mmew-7class",
        ("happiness", "surprise", "anger", "disgust", "fear", "sadness", "others"),
        {
            **_identity("happiness", "surprise", "anger", "disgust", "fear", "sadness", "others"),
            "other": "others",
            "repression": "others",
        },
        description="MMEW's 7 micro-expression labels",
    )
)
register_protocol(
    Protocol(
        "mmew-3class",
        NEG_POS_SUR,
        _MEGC,
        excluded=_OTHERS,
        description="MMEW grouped the MEGC2019 way: negative (anger, disgust, fear, sadness), positive, surprise",
    )
)


def protocol_names() -> list[str]:
    return PROTOCOLS.names()


def get_protocol(name: str) -> Protocol:
    """The protocol registered as ``name``; ``LFDError`` listing the known ones otherwise."""
    return PROTOCOLS.get(name)


def apply_protocol(samples: Iterable[Sample], name: str) -> list[Sample]:
    """Label each sample under protocol ``name``; drop the excluded ones (order kept).

    Raises ``LFDError`` naming the sample's source (``file, row N``) for an emotion the
    protocol neither maps nor excludes.
    """
    protocol = get_protocol(name)
    out = []
    for sample in samples:
        emotion = sample.emotion.strip().lower()
        if protocol.is_excluded(emotion, sample.dataset):
            continue
        if emotion not in protocol.mapping:
            known = ", ".join(sorted(protocol.mapping))
            raise LFDError(
                f"emotion {sample.emotion!r} of {sample.sample_id} is not in protocol {name} "
                f"(known: {known}; excluded: {', '.join(sorted(protocol.excluded)) or 'none'})",
                sample.source or None,
            )
        class_name = protocol.mapping[emotion]
        out.append(sample.with_label(protocol.index_of(class_name), class_name, name))
    return out
