"""Dask: spreading independent work (backtest folds, forecast shards) over a cluster."""
