{{ config(materialized='view') }}
-- What holds each model's level, and what would lift it, under level variant {{ variant.name | sql_literal }}:
-- one row per (model, scope, task group) with the group's tasks, attempts, wins and ties (summed
-- over the parts of group_scores), the lost task closest to a win (task_gaps.closeness = 1) and,
-- for the pair C and G, in how many parts both are won. Level-3 needs a win in C or G, Level-4 a
-- part where C and G are both won (the whole scope when group_by is none, a modality when it
-- is modality), Level-5 also a win in L (docs/general-level.md).
WITH groups AS (
  SELECT
    model,
    scope,
    task_group,
    SUM(n_tasks) AS n_tasks,
    SUM(n_supported) AS n_supported,
    SUM(n_wins) AS n_wins,
    SUM(n_ties) AS n_ties
  FROM {{ ('group_scores__' ~ variant.name) | ident }}
  GROUP BY
    model,
    scope,
    task_group
), parts AS (
  SELECT
    model,
    scope,
    part,
    MAX(CASE WHEN task_group = 'C' THEN n_wins END) AS c_wins,
    MAX(CASE WHEN task_group = 'G' THEN n_wins END) AS g_wins
  FROM {{ ('group_scores__' ~ variant.name) | ident }}
  WHERE
    task_group IN ('C', 'G')
  GROUP BY
    model,
    scope,
    part
), synergy AS (
  SELECT
    model,
    scope,
    COUNT_IF(NOT c_wins IS NULL AND NOT g_wins IS NULL) AS n_parts_with_both,
    COUNT_IF(c_wins > 0 AND g_wins > 0) AS n_parts_both_won
  FROM parts
  GROUP BY
    model,
    scope
), closest AS (
  SELECT
    model,
    scope,
    task_group,
    task_id,
    sigma_gap
  FROM {{ ('task_gaps__' ~ variant.name) | ident }}
  WHERE
    NOT win AND closeness = 1
)
SELECT
  g.model,
  g.scope,
  g.task_group,
  CAST(g.n_tasks AS INTEGER) AS n_tasks,
  CAST(g.n_supported AS INTEGER) AS n_supported,
  CAST(g.n_wins AS INTEGER) AS n_wins,
  CAST(g.n_ties AS INTEGER) AS n_ties,
  c.task_id AS closest_task_id,
  c.sigma_gap AS closest_sigma_gap,
  CAST(COALESCE(s.n_parts_with_both, 0) AS INTEGER) AS n_parts_with_both,
  CAST(COALESCE(s.n_parts_both_won, 0) AS INTEGER) AS n_parts_both_won
FROM groups AS g
LEFT JOIN closest AS c
  ON c.model = g.model AND c.scope = g.scope AND c.task_group = g.task_group
LEFT JOIN synergy AS s
  ON s.model = g.model AND s.scope = g.scope
