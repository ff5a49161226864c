{{ config(materialized='incremental', partition_by=['model', 'task_id'], partition_metric=metric.name,
          partition_sources=['prediction_partitions', 'predictions', 'judgments', 'instance_refs__' ~ metric.name]) }}
{% import 'macros/metrics/' ~ metric.implementation.macro ~ '.sql' as impl %}
{%- set args = metric.implementation.args %}
{%- set answer = metric.implementation.answer %}
-- Instance-level scores for metric {{ metric.name | sql_literal }} ({{ metric.implementation.macro }},
-- {{ metric.implementation.level }} level). Every instance of a task counts for each model that
-- predicted the task: a missing, failed or over-long prediction (more than
-- {{ metric.implementation.max_prediction_chars }} characters) is scored as an empty answer. For a
-- task with an evaluator (tasks.judged), the answer is the evaluator's reading of the generated
-- file (judgments, for that very prediction), not the file path itself; for a metric whose
-- evaluator reads features, that reading holds the reference's features too.
WITH pairs AS (
  SELECT
    p.model,
    p.task_id,
    t.judged
  FROM prediction_partitions AS p
  JOIN tasks AS t
    ON t.task_id = p.task_id
  WHERE
    t.metric = {{ metric.name | sql_literal }} AND p.n_rows > 0
), answers AS (
  SELECT
    pr.model,
    r.*,
    NOT p.output IS NULL AND p.error IS NULL AND (NOT pr.judged OR (NOT j.output IS NULL AND j.error IS NULL)) AS scored,
    CASE
      {%- if metric.evaluator %}
      -- a metric's evaluator also reads the reference of a failed prediction (a Frechet distance counts it)
      WHEN pr.judged AND NOT j.output IS NULL AND j.error IS NULL THEN j.output
      {%- endif %}
      WHEN p.output IS NULL OR NOT p.error IS NULL OR LENGTH(p.output) > {{ metric.implementation.max_prediction_chars }} THEN ''
      WHEN pr.judged THEN CASE WHEN j.output IS NULL OR NOT j.error IS NULL THEN '' ELSE j.output END
      ELSE p.output
    END AS output
  FROM pairs AS pr
  JOIN {{ ('instance_refs__' ~ metric.name) | ident }} AS r
    ON r.task_id = pr.task_id
  LEFT JOIN predictions AS p
    ON p.model = pr.model AND p.task_id = r.task_id AND p.instance_id = r.instance_id
  LEFT JOIN judgments AS j
    ON pr.judged AND j.model = p.model AND j.task_id = p.task_id AND j.instance_id = p.instance_id
    AND j.prediction_key = p.content_key
), prepared AS (
  SELECT
    *,
    {{ impl.prepare('output', args, answer) }}
  FROM answers
)
SELECT
  model,
  task_id,
  instance_id,
  scored,
  {{ impl.value('output', args, answer) }} AS value,
  {{ impl.stats('output', args, answer) }} AS stats,
  {{ impl.payload('output', args, answer) }} AS payload
FROM prepared
