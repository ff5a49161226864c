{{ config(materialized='view') }}
-- Tasks, attempts, wins and ties per (model, scope, modality, group) under level variant
-- {{ variant.name | sql_literal }}, whatever the variant's group_by: glc explain's "per modality"
-- lines. Counted over the tasks that have a SoTA, as group_scores__<variant> counts them.
SELECT
  w.model,
  st.scope,
  w.modality,
  w.task_group,
  COUNT(*) AS n_tasks,
  COUNT_IF(w.supported) AS n_supported,
  COUNT_IF(w.win) AS n_wins,
  COUNT_IF(w.win AND w.tie) AS n_ties
FROM {{ ('task_wins__' ~ variant.name) | ident }} AS w
JOIN scope_tasks AS st
  ON st.task_id = w.task_id
WHERE
  w.has_sota
GROUP BY
  w.model,
  st.scope,
  w.modality,
  w.task_group
