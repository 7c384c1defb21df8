"""Reporting: finished numbers into markdown tables, PNG plots (confusion, curves, embeddings, bars),
report.html and benchmark pages. It computes nothing: the analyses come from ``lfd_tcmen.analysis``.
Import the submodules directly (``lfd_tcmen.report.plots`` pulls in matplotlib)."""
