"""`make bench`: the platform measured against same-run baselines (see bench/README.md)."""
