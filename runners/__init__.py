"""Inference runners (transformers, OpenAI-compatible HTTP, commands): not built yet.

Runners will execute the inference jobs that ``glc compile`` lists and append rows to the
prediction store; they may read ``compiler.contracts`` but the compiler never imports them.
"""
