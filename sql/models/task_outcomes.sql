{% from 'macros/normalize.sql' import normalize %}
{#- -1, 0 or +1: a worse than, tied with or better than b. Equal within a relative 1e-9 is a tie:
    far below any metric's reporting precision, above the floating-point noise of summing the
    same instance values in another order (a reused network must tie, not win by an ulp). -#}
{% macro compare(a, b) -%}
CASE WHEN ABS({{ a }} - {{ b }}) <= 1e-9 * GREATEST(ABS({{ a }}), ABS({{ b }})) THEN 0 ELSE SIGN({{ a }} - {{ b }}) END
{%- endmacro %}
-- The numbers of task_results: every evaluated model on every benchmark task (cross join: a task
-- without a score is unsupported, sigma = 0), stored narrow (ids and numbers; task_results, a view,
-- adds the task's names and SoTA from task_sota): at 1,000 models the task strings on 699,000 rows
-- cost more to store than the rest of the build. vs_sota is -1, 0 or +1 (worse, tie, better than the
-- specialist SoTA): lower-is-better metrics compare raw values, because the sigmoid saturates to
-- exactly 100.0 in floating point; the others compare normalized scores. A task without a SoTA yet
-- (sota NULL) has no vs_sota: it is scored but never compared. n_instances and n_scored say how
-- much of the task's data a predicted score rests on.
-- The cross join is matched with the scores on integer keys (a number per model and per task,
-- given here; RANK numbers them one by one, as models and tasks are unique in their tables): a hash
-- join on two strings per row was half of the node's time at thousands of models.
WITH model_keys AS (
  SELECT model, RANK() OVER (ORDER BY model) AS model_key
  FROM evaluated_models
), task_keys AS (
  SELECT task_id, RANK() OVER (ORDER BY task_id) AS task_key
  FROM task_sota
), keyed_scores AS (
  SELECT mk.model_key, tk.task_key, s.score, s.source, s.n_instances, s.n_scored
  FROM task_scores AS s
  JOIN model_keys AS mk
    ON mk.model = s.model
  JOIN task_keys AS tk
    ON tk.task_id = s.task_id
), scored AS (
  SELECT
    m.model,
    t.task_id,
    t.direction,
    s.score AS raw_score,
    t.sota,
    s.source,
    s.n_instances,
    s.n_scored,
    {{ normalize('s.score', 'met') }} AS sigma_model,
    t.sigma_sota
  FROM model_keys AS m
  CROSS JOIN task_sota AS t
  JOIN task_keys AS tk
    ON tk.task_id = t.task_id
  JOIN metrics AS met
    ON met.metric = t.metric
  LEFT JOIN keyed_scores AS s
    ON s.model_key = m.model_key AND s.task_key = tk.task_key
)
SELECT
  model,
  task_id,
  raw_score,
  COALESCE(sigma_model, 0.0) AS sigma,
  CAST(CASE
    WHEN raw_score IS NULL OR sota IS NULL THEN NULL
    WHEN direction = 'lower' THEN {{ compare('sota', 'raw_score') }}
    ELSE {{ compare('sigma_model', 'sigma_sota') }}
  END AS INTEGER) AS vs_sota,
  n_instances,
  n_scored,
  COALESCE(source, 'missing') AS source
FROM scored
