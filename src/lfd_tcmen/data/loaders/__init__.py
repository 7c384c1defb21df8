"""Dataset loaders: one module per dataset, each registering itself with ``register_loader``.

Importing this package imports every loader; ``lfd_tcmen.data.datasets.load_samples`` reads a
dataset by name.
"""

from lfd_tcmen.data.loaders import casme2, casme3, dfme, megc2019, mmew, samm, smic  # noqa: F401
