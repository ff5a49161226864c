-- One raw score per (model, task). A task's score comes from predictions when the model has
-- any for it (predicted_scores: aggregated by the metric's macro), otherwise from imported
-- scores; `source` says which.
WITH combined AS (
  SELECT
    model,
    task_id,
    score,
    n_instances,
    n_scored,
    'predictions' AS source
  FROM predicted_scores
  UNION ALL
  SELECT
    s.model,
    s.task_id,
    s.score,
    CAST(NULL AS BIGINT) AS n_instances,
    CAST(NULL AS BIGINT) AS n_scored,
    'imported' AS source
  FROM imported_scores AS s
  WHERE
    NOT EXISTS(
      SELECT
        1
      FROM predicted_scores AS p
      WHERE
        p.model = s.model AND p.task_id = s.task_id
    )
)
SELECT
  c.model,
  c.task_id,
  t.task_name,
  t.modality,
  t.paradigm,
  t.metric,
  c.score,
  c.n_instances,
  c.n_scored,
  c.source
FROM combined AS c
JOIN tasks AS t
  ON t.task_id = c.task_id
{#- A view: task_results reads it once per build, and its rows (strings mostly) cost more to store
    than to compute again. -#}
{{ config(materialized='view') }}
