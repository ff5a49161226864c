{% from 'macros/aggregates.sql' import level_sum %}
{{ config(materialized='view') }}
-- Group aggregates under level variant {{ variant.name | sql_literal }} (group_by: {{ variant.group_by }}).
-- Denominators are the number of benchmark tasks of the group in the scope that have a SoTA,
-- supported or not: sum_sigma = sum(sigma), mean_sigma = sum_sigma / n_tasks;
-- s = sum(sigma of won tasks) / n_tasks.
-- A task without a SoTA yet is left out of every sum and count here (it cannot be won, and
-- counting it in a denominator would lower S for a reason no model controls).
-- s_without_ties is s counting only wins that beat the SoTA (what the level rests on without ties).
-- The sums per modality come from group_parts (win rule {{ variant.win }}); a view: they cost less to
-- add up where they are read than to store per variant. Their sigma sums add up as exact counts of
-- 2^-52 (level_sum), as in level_scores: in no order of the rows do they differ.
SELECT
  g.model,
  g.scope,
{%- if variant.group_by == 'modality' %}
  g.modality AS part,
{%- else %}
  'all' AS part,
{%- endif %}
  g.task_group,
  CAST(SUM(g.n_tasks) AS BIGINT) AS n_tasks,
  CAST(SUM(g.n_supported) AS BIGINT) AS n_supported,
{%- if variant.win == 'strictly_better' %}
  CAST(SUM(g.n_better) AS BIGINT) AS n_wins,
  CAST(0 AS BIGINT) AS n_ties, -- a tie is no win
  {{ level_sum('g.sum_sigma') }} AS sum_sigma,
  {{ level_sum('g.sum_sigma') }} / SUM(g.n_tasks) AS mean_sigma,
  {{ level_sum('g.sum_better') }} / SUM(g.n_tasks) AS s,
{%- else %}
  CAST(SUM(g.n_at_least) AS BIGINT) AS n_wins,
  CAST(SUM(g.n_tied) AS BIGINT) AS n_ties,
  {{ level_sum('g.sum_sigma') }} AS sum_sigma,
  {{ level_sum('g.sum_sigma') }} / SUM(g.n_tasks) AS mean_sigma,
  {{ level_sum('g.sum_at_least') }} / SUM(g.n_tasks) AS s,
{%- endif %}
  {{ level_sum('g.sum_better') }} / SUM(g.n_tasks) AS s_without_ties
FROM group_parts AS g
GROUP BY
  g.model,
  g.scope,
  part,
  g.task_group
