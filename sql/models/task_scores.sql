-- One raw score per (model, task). Today every score is imported; predictions scored by
-- glc's metric library will join here with source = 'predictions'.
SELECT
  s.model,
  s.task_id,
  t.task_name,
  t.modality,
  t.paradigm,
  t.metric,
  s.score,
  CAST(NULL AS BIGINT) AS n_instances,
  CAST(NULL AS BIGINT) AS n_scored,
  'imported' AS source
FROM imported_scores AS s
JOIN tasks AS t
  ON t.task_id = s.task_id
