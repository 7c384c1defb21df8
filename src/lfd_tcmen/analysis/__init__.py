"""Analyses computed from finished runs, on the runs side of the data flow: the identity probes
(``probe``: training-sample leakage; ``heldout``: held-out retrieval beside raw-input and untrained
references), the embedding's codes (``embedding``) and a run's analyses in one call (``run``).
report/ writes what these return; it computes nothing. Import the submodules directly
(``probe`` pulls in scikit-learn)."""
