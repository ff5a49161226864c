{{ config(materialized='view') }}
-- Normalized result of every model on every benchmark task: the stored numbers (task_outcomes:
-- raw score, sigma, vs_sota, coverage) with the task's names, group and SoTA (task_sota). A view:
-- the task strings repeated on every (model, task) row cost more to store than to join where they
-- are read; its rows change only when a build replaces the tables it reads.
SELECT
  o.model,
  o.task_id,
  t.task_name,
  t.modality,
  t.paradigm,
  t.task_group,
  t.metric,
  t.direction,
  o.raw_score,
  t.sota,
  o.sigma,
  t.sigma_sota,
  o.raw_score IS NOT NULL AS supported,
  t.sota IS NOT NULL AS has_sota,
  o.vs_sota,
  o.n_instances,
  o.n_scored,
  o.raw_score IS NOT NULL AND COALESCE(o.n_scored >= o.n_instances, TRUE) AS complete,
  o.source
FROM task_outcomes AS o
JOIN task_sota AS t
  ON t.task_id = o.task_id
