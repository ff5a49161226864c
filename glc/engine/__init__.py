"""Engine layer: the DuckDB store, building the compiled DAG (DuckDB here, Spark in ``spark``), run logs,
selection of partitions, data and unit tests of SQL nodes, and model administration in the store.

The store is a DuckDB file for every target; a Spark target builds the nodes on Spark and copies the
results back into it."""
