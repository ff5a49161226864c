{% from 'macros/aggregates.sql' import level_units, from_units %}
-- Sums per (model, scope, modality, task group) over the tasks with a SoTA, for both win rules:
-- what every level variant adds up (group_scores__<variant> and the counts of
-- level_scores__<variant>). One pass over task_results serves every variant, instead of one pass
-- per variant and one more per variant for its counts. A win under 'at_least' is vs_sota >= 0 (a
-- tie wins), under 'strictly_better' vs_sota > 0; a task without a SoTA is left out here, as in
-- group_scores; no score (vs_sota NULL) is no win.
-- Each task sits in several scopes (80 in the 699-task catalog, 4,363 (scope, task) pairs), but the
-- tasks fall into far fewer classes of the same modality, group and set of scopes (96): each model's
-- tasks are summed once per class, and the class sums once per scope of the class, instead of
-- every (model, task) row once per scope of its task. The sums are the same sums, added up in
-- another order (as group_scores adds up the modalities of a part).
-- The sigma sums never depend on the order rows arrive in (DuckDB's SUM on DOUBLE adds in arrival
-- order): each sigma (a normalized score, within [-100, 100] for every normalization but identity,
-- whose raw score the import refuses beyond +-1e15) is an exact count of 2^-52 (level_units), the counts add up
-- exactly (HUGEINT) per class and per scope, and only the total becomes a double (from_units).
-- Classes and cells (scope, modality, group) are numbered: rows are grouped by (model, class_id),
-- then by (model, cell_id), integer keys that cost less to hash than the names (a class's key holds
-- the names of up to 80 scopes), and the cell's names are joined to the sums last.
WITH task_classes AS (
  -- the scopes of each task, as one key (a scope's name holds no comma: specs/scopes)
  SELECT
    st.task_id,
    ARRAY_TO_STRING(LIST(st.scope ORDER BY st.scope), ',') AS scopes
  FROM scope_tasks AS st
  GROUP BY
    st.task_id
), classes AS (
  -- each task's class (its scopes, modality and group) and the class's number
  SELECT
    c.task_id,
    t.modality,
    t.task_group,
    RANK() OVER (ORDER BY c.scopes, t.modality, t.task_group) AS class_id
  FROM task_classes AS c
  JOIN task_sota AS t
    ON t.task_id = c.task_id
), class_cells AS (
  -- the cells (scope, modality, group) each class adds to
  SELECT
    k.class_id,
    k.modality,
    k.task_group,
    st.scope
  FROM classes AS k
  JOIN scope_tasks AS st
    ON st.task_id = k.task_id
  GROUP BY
    k.class_id,
    k.modality,
    k.task_group,
    st.scope
), class_scopes AS (
  SELECT
    class_id,
    scope,
    modality,
    task_group,
    RANK() OVER (ORDER BY scope, modality, task_group) AS cell_id
  FROM class_cells
), per_class AS (
  SELECT
    w.model,
    k.class_id,
    COUNT(*) AS n_tasks,
    COUNT_IF(w.supported) AS n_supported,
    COUNT_IF(COALESCE(w.vs_sota >= 0, FALSE)) AS n_at_least,
    COUNT_IF(COALESCE(w.vs_sota > 0, FALSE)) AS n_better,
    COUNT_IF(COALESCE(w.vs_sota = 0, FALSE)) AS n_tied,
    SUM({{ level_units('w.sigma') }}) AS units_sigma,
    SUM(CASE WHEN w.vs_sota >= 0 THEN {{ level_units('w.sigma') }} ELSE 0 END) AS units_at_least,
    SUM(CASE WHEN w.vs_sota > 0 THEN {{ level_units('w.sigma') }} ELSE 0 END) AS units_better,
    COUNT_IF(w.complete) AS n_complete,
    SUM(CASE WHEN w.supported THEN w.n_scored END) AS instances_scored,
    SUM(CASE WHEN w.supported THEN w.n_instances END) AS instances_total,
    COUNT_IF(w.source = 'imported') AS n_imported
  FROM task_results AS w
  JOIN classes AS k
    ON k.task_id = w.task_id
  WHERE
    w.has_sota
  GROUP BY
    w.model,
    k.class_id
), per_cell AS (
  SELECT
    p.model,
    cs.cell_id,
    CAST(SUM(p.n_tasks) AS BIGINT) AS n_tasks,
    CAST(SUM(p.n_supported) AS HUGEINT) AS n_supported,
    CAST(SUM(p.n_at_least) AS HUGEINT) AS n_at_least,
    CAST(SUM(p.n_better) AS HUGEINT) AS n_better,
    CAST(SUM(p.n_tied) AS HUGEINT) AS n_tied,
    {{ from_units('SUM(p.units_sigma)') }} AS sum_sigma,
    {{ from_units('SUM(p.units_at_least)') }} AS sum_at_least,
    {{ from_units('SUM(p.units_better)') }} AS sum_better,
    CAST(SUM(p.n_complete) AS HUGEINT) AS n_complete,
    SUM(p.instances_scored) AS instances_scored,
    SUM(p.instances_total) AS instances_total,
    CAST(SUM(p.n_imported) AS HUGEINT) AS n_imported
  FROM per_class AS p
  JOIN class_scopes AS cs
    ON cs.class_id = p.class_id
  GROUP BY
    p.model,
    cs.cell_id
), cells AS (
  SELECT
    cell_id,
    MAX(scope) AS scope,
    MAX(modality) AS modality,
    MAX(task_group) AS task_group
  FROM class_scopes
  GROUP BY
    cell_id
)
SELECT
  p.model,
  c.scope,
  c.modality,
  c.task_group,
  p.n_tasks,
  p.n_supported,
  p.n_at_least,
  p.n_better,
  p.n_tied,
  p.sum_sigma,
  p.sum_at_least,
  p.sum_better,
  p.n_complete,
  p.instances_scored,
  p.instances_total,
  p.n_imported
FROM per_cell AS p
JOIN cells AS c
  ON c.cell_id = p.cell_id
