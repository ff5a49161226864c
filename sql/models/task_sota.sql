{% from 'macros/normalize.sql' import normalize %}
-- Every benchmark task with its specialist SoTA (Level-1) and that SoTA's normalized score.
SELECT
  t.task_id,
  t.task_name,
  t.modality,
  t.paradigm,
  t.task_group,
  t.metric,
  met.direction,
  met.unit,
  met.norm_kind,
  t.sota,
  t.sota_source,
  {{ normalize('t.sota', 'met') }} AS sigma_sota
FROM tasks AS t
JOIN metrics AS met
  ON met.metric = t.metric
