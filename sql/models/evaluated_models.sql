-- Every model glc has results for, even one with no score at all (all its tasks count 0):
-- models with imported scores and models with predictions, except the specialists of
-- specs/models (role: specialist): they are Level-1, their scores are the measured SoTA.
SELECT e.model
FROM (
  SELECT model FROM imported_models
  UNION
  SELECT model FROM prediction_partitions WHERE n_rows > 0  -- one row per (model, task), kept by every writer
) AS e
WHERE NOT e.model IN (SELECT m.model FROM models AS m WHERE m.role = 'specialist')
