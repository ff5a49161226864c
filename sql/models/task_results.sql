{% from 'macros/normalize.sql' import normalize %}
-- Normalized result of every model on every benchmark task (cross join: a task without a
-- score is unsupported, sigma = 0). vs_sota is -1, 0 or +1 (worse, tie, better than the
-- specialist SoTA): lower-is-better metrics compare raw values, because the sigmoid
-- saturates to exactly 100.0 in floating point; the others compare normalized scores.
WITH scored AS (
  SELECT
    m.model,
    t.task_id,
    t.task_name,
    t.modality,
    t.paradigm,
    t.task_group,
    t.metric,
    t.direction,
    s.score AS raw_score,
    t.sota,
    s.source,
    {{ normalize('s.score', 'met') }} AS sigma_model,
    t.sigma_sota
  FROM evaluated_models AS m
  CROSS JOIN task_sota AS t
  JOIN metrics AS met
    ON met.metric = t.metric
  LEFT JOIN task_scores AS s
    ON s.model = m.model AND s.task_id = t.task_id
)
SELECT
  model,
  task_id,
  task_name,
  modality,
  paradigm,
  task_group,
  metric,
  direction,
  raw_score,
  sota,
  COALESCE(sigma_model, 0.0) AS sigma,
  sigma_sota,
  raw_score IS NOT NULL AS supported,
  CASE
    WHEN raw_score IS NULL THEN NULL
    WHEN direction = 'lower' THEN SIGN(sota - raw_score)
    ELSE SIGN(sigma_model - sigma_sota)
  END AS vs_sota,
  COALESCE(source, 'missing') AS source
FROM scored
