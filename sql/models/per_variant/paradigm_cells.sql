{{ config(materialized='view') }}
-- Per model, scope, modality and paradigm under level variant {{ variant.name | sql_literal }}: how many
-- tasks it attempted, won, tied and lost against the SoTA, and how many it did not attempt (the
-- modality x paradigm grid of `glc report`). Counts are over tasks with a SoTA, except n_pending.
-- n_ties counts every result equal to the SoTA: under the at_least rule each is also a win, under
-- strictly_better none is. n_losses counts results worse than the SoTA.
SELECT
  w.model,
  st.scope,
  w.modality,
  w.paradigm,
  w.task_group,
  CAST(COUNT_IF(w.has_sota) AS INTEGER) AS n_tasks,
  CAST(COUNT_IF(w.has_sota AND w.supported) AS INTEGER) AS n_supported,
  CAST(COUNT_IF(w.win) AS INTEGER) AS n_wins,
  CAST(COUNT_IF(w.tie) AS INTEGER) AS n_ties,
  CAST(COUNT_IF(w.has_sota AND w.supported AND NOT w.win AND NOT w.tie) AS INTEGER) AS n_losses,
  CAST(COUNT_IF(w.has_sota AND NOT w.supported) AS INTEGER) AS n_not_attempted,
  CAST(COUNT_IF(NOT w.has_sota) AS INTEGER) AS n_pending,
  CAST(COUNT_IF(w.has_sota AND w.supported AND NOT w.complete) AS INTEGER) AS n_partial
FROM {{ ('task_wins__' ~ variant.name) | ident }} AS w
JOIN scope_tasks AS st
  ON st.task_id = w.task_id
GROUP BY
  w.model,
  st.scope,
  w.modality,
  w.paradigm,
  w.task_group
