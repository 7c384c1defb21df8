"""Data: samples and their annotations, one loader per dataset, protocols, subjects, splits.

Read a dataset with ``lfd_tcmen.data.datasets.load_samples``; turn samples into model inputs
with ``lfd_tcmen.preprocess``. Importing this package imports nothing else, so a module that
only needs ``FeatureSet`` or ``Sample`` does not pay for every loader.
"""
