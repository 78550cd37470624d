"""Speed benchmarks of the engine (not collected by the default test run).

``python -m tests.benchmarks`` prints one JSON object with the figures;
``pytest tests/benchmarks --benchmark-only`` runs the same workloads under pytest-benchmark.
"""
