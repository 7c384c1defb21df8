"""Small single-purpose building blocks shared by the models."""

from lfd_tcmen.models.layers.conv_decoder import ConvDecoder
from lfd_tcmen.models.layers.conv_encoder import ConvBlock, ConvEncoder
from lfd_tcmen.models.layers.gated_fusion import GatedFusion
from lfd_tcmen.models.layers.gradient_reversal import GradientReversal
from lfd_tcmen.models.layers.temporal_attention import TemporalComplementAttention

__all__ = [
    "ConvBlock",
    "ConvDecoder",
    "ConvEncoder",
    "GatedFusion",
    "GradientReversal",
    "TemporalComplementAttention",
]
