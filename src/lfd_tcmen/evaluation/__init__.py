"""Evaluation: UF1 / UAR and the confusion matrix (metrics), the paired subject-cluster bootstrap
and Holm's correction (stats), reading prediction files and MEGC2019 logs (scoring). Numbers in,
numbers out: nothing here trains or draws. Import the submodules directly."""
