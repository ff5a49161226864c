-- One raw score per (model, task). A task's score comes from predictions when the model has
-- any for it (aggregated by the metric's macro), otherwise from imported scores; `source`
-- says which.
WITH predicted AS (
{%- for m in metrics if m.implementation %}
{%- import 'macros/metrics/' ~ m.implementation.macro ~ '.sql' as impl %}
  SELECT
    model,
    task_id,
    {{ impl.aggregate(m.implementation.args) }} AS score,
    COUNT(*) AS n_instances,
    COUNT_IF(scored) AS n_scored
  FROM {{ ('instance_scores__' ~ m.name) | ident }}
  GROUP BY
    model,
    task_id
  UNION ALL
{%- endfor %}
  SELECT
    CAST(NULL AS VARCHAR) AS model,
    CAST(NULL AS VARCHAR) AS task_id,
    CAST(NULL AS DOUBLE) AS score,
    CAST(NULL AS BIGINT) AS n_instances,
    CAST(NULL AS BIGINT) AS n_scored
  WHERE
    FALSE
), combined AS (
  SELECT
    model,
    task_id,
    score,
    n_instances,
    n_scored,
    'predictions' AS source
  FROM predicted
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
      FROM predicted AS p
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
