"""Speed benchmarks: each module here has a ``main()`` that prints its figures as ratios against
a baseline measured in the same run. ``python -m benchmarks`` runs them all."""
