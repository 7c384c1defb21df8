"""Reporting blocks: markdown tables, PNG plots (confusion, curves, embeddings, bars) and the
identity-leakage probe. Import the submodules directly (``lfd_tcmen.report.plots`` pulls in
matplotlib, ``lfd_tcmen.report.probe`` scikit-learn)."""
