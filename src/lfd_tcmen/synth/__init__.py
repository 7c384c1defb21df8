"""The synthetic datasets: drawn faces written in any real dataset's layout, so the demo and the
tests run without licensed data. ``render`` (render_dataset, render_layout), ``clips`` (the one
renderer: subjects, motions, frames), ``face`` (faces and their action units), ``layout`` (the
layout registry) and one module per dataset layout, which data/'s loader for that dataset reads
back: the loaders are their specification. Importing this package imports nothing else."""
