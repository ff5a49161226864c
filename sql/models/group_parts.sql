-- Sums per (model, scope, modality, task group) over the tasks with a SoTA, for both win rules:
-- what every level variant adds up (group_scores__<variant> and the counts of
-- level_scores__<variant>). One pass over task_results x scope_tasks (each task sits in several
-- scopes) serves every variant, instead of one pass per variant and one more per variant for its
-- counts. A win under 'at_least' is vs_sota >= 0 (a tie wins), under 'strictly_better' vs_sota > 0;
-- a task without a SoTA is left out here, as in group_scores; no score (vs_sota NULL) is no win.
SELECT
  w.model,
  st.scope,
  w.modality,
  w.task_group,
  COUNT(*) AS n_tasks,
  COUNT_IF(w.supported) AS n_supported,
  COUNT_IF(COALESCE(w.vs_sota >= 0, FALSE)) AS n_at_least,
  COUNT_IF(COALESCE(w.vs_sota > 0, FALSE)) AS n_better,
  COUNT_IF(COALESCE(w.vs_sota = 0, FALSE)) AS n_tied,
  SUM(w.sigma) AS sum_sigma,
  SUM(CASE WHEN w.vs_sota >= 0 THEN w.sigma ELSE 0.0 END) AS sum_at_least,
  SUM(CASE WHEN w.vs_sota > 0 THEN w.sigma ELSE 0.0 END) AS sum_better,
  COUNT_IF(w.complete) AS n_complete,
  SUM(CASE WHEN w.supported THEN w.n_scored END) AS instances_scored,
  SUM(CASE WHEN w.supported THEN w.n_instances END) AS instances_total
FROM task_results AS w
JOIN scope_tasks AS st
  ON st.task_id = w.task_id
WHERE
  w.has_sota
GROUP BY
  w.model,
  st.scope,
  w.modality,
  w.task_group
