"""Inference runners: ``hf`` (transformers on torch), ``openai`` (OpenAI-compatible HTTP) and
``command`` (an external program per instance), registered as ``glc.runners`` entry points.

A runner turns ``Request`` rows into ``Result`` rows; ``glc.execute.inference`` plans the requests from
the specs and the store, and commits what runners return in small batches. Heavy backends are
imported inside the runner that needs them, never at module import time.
"""
