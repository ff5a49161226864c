"""Results of other evaluation harnesses: lm-evaluation-harness, lmms-eval, VLMEvalKit, Inspect.

``glc import predictions --from FORMAT PATH --model NAME --map MAP.yaml`` reads a harness's
per-sample logs (``lm_eval``, ``inspect_log``, ``vlmevalkit``), maps its task names onto glc
tasks and its samples onto glc instances (``mapping``, ``importer``), and stores

* each matched sample's answer as a prediction (scored again by glc's own metric on ``glc run``),
* the harness's own per-sample scores in ``harness_scores`` (``glc diff harness:MODEL`` lists
  where the harness and glc disagree on the same predictions, ``disagreements``),
* with ``--scores`` (or ``glc import scores --from``), the task-level values of the results
  file that the mapping names (``score:``) as imported scores.

Everything is read and checked before anything is stored; one transaction replaces the model's
rows of the imported tasks.
"""

from glc.importers.harness.importer import HarnessImport, read_harness, store_harness
from glc.importers.harness.mapping import FORMATS

__all__ = ["FORMATS", "HarnessImport", "read_harness", "store_harness"]
