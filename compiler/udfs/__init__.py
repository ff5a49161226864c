"""Python functions that metric macros call from SQL where SQL cannot express the metric.

Each is registered under a ``glc_*`` name with a DuckDB signature (``registry``); the
compiled SQL shows the call by name, and ``glc run`` registers them, vectorized over Arrow
batches, on its DuckDB connection. Pure Python plus numpy/scipy/Pillow/rapidfuzz, no torch.
"""
