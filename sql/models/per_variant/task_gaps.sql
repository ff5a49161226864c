{{ config(materialized='view') }}
-- Each model's distance to the SoTA per task and scope under level variant {{ variant.name | sql_literal }}
-- (what `glc report` shows as "gap to SoTA"). sigma_gap = sigma - sigma_sota, on the normalized
-- scale both share; NULL when the task is not attempted or has no SoTA yet. closeness ranks the
-- tasks of one (model, scope, task group) that are won, and separately those that are lost, by
-- sigma_gap from the largest down: the won task with closeness 1 is won by the widest margin, the
-- lost one with closeness 1 is the closest to a win. Ties on sigma_gap go by task_id.
WITH gaps AS (
  SELECT
    w.model,
    st.scope,
    w.task_id,
    w.modality,
    w.paradigm,
    w.task_group,
    w.metric,
    w.raw_score,
    w.sota,
    w.sigma,
    w.sigma_sota,
    w.supported,
    w.has_sota,
    w.win,
    w.tie,
    CASE WHEN w.supported AND w.has_sota THEN w.sigma - w.sigma_sota END AS sigma_gap
  FROM {{ ('task_wins__' ~ variant.name) | ident }} AS w
  JOIN scope_tasks AS st
    ON st.task_id = w.task_id
)
SELECT
  model,
  scope,
  task_id,
  modality,
  paradigm,
  task_group,
  metric,
  raw_score,
  sota,
  sigma,
  sigma_sota,
  supported,
  has_sota,
  win,
  tie,
  sigma_gap,
  CASE
    WHEN NOT sigma_gap IS NULL
    THEN RANK() OVER (PARTITION BY model, scope, task_group, win, sigma_gap IS NULL ORDER BY sigma_gap DESC, task_id)
  END AS closeness
FROM gaps
