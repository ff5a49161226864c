{{ config(materialized='view') }}
-- Levels 2-4 inside each part under level variant {{ variant.name | sql_literal }} (group_by: {{ variant.group_by }}).
{%- if variant.group_by == 'modality' %}
-- A part is a modality of the scope that holds comprehension or generation tasks;
-- level_scores__<variant> averages these rows with equal weight.
{%- else %}
-- One part, 'all': the whole scope; level_scores__<variant> takes its row as it is.
{%- endif %}
-- The same arithmetic over wins that beat the SoTA only (*_without_ties) gives level_without_ties.
-- NLP tasks (group L) enter no part: they count in Level-5 only. A view: glc explain prints its
-- rows as the formulas' per-part values.
WITH parts AS (
  SELECT
    model,
    scope,
    part,
    AVG(mean_sigma) AS level_2, -- 1/2 (sum_C sigma / M + sum_G sigma / N), over the paradigms present
    AVG(s) AS level_3, -- 1/2 (S_C + S_G)
    MAX(CASE WHEN task_group = 'C' THEN s END) AS s_c,
    MAX(CASE WHEN task_group = 'G' THEN s END) AS s_g,
    AVG(s_without_ties) AS level_3_without_ties,
    MAX(CASE WHEN task_group = 'C' THEN s_without_ties END) AS s_c_without_ties,
    MAX(CASE WHEN task_group = 'G' THEN s_without_ties END) AS s_g_without_ties
  FROM {{ ('group_scores__' ~ variant.name) | ident }}
  WHERE
    task_group IN ('C', 'G')
  GROUP BY
    model,
    scope,
    part
)
SELECT
  model,
  scope,
  part,
  COUNT(*) OVER (PARTITION BY model, scope) AS n_parts,
  level_2,
  level_3,
  CASE
    WHEN s_c > 0 AND s_g > 0 THEN 2 * s_c * s_g / (s_c + s_g) -- harmonic mean of S_C and S_G
    WHEN NOT s_c IS NULL AND NOT s_g IS NULL THEN 0.0
  END AS level_4,
  s_c,
  s_g,
  level_3_without_ties,
  CASE
    WHEN s_c_without_ties > 0 AND s_g_without_ties > 0
    THEN 2 * s_c_without_ties * s_g_without_ties / (s_c_without_ties + s_g_without_ties)
    WHEN NOT s_c_without_ties IS NULL AND NOT s_g_without_ties IS NULL THEN 0.0
  END AS level_4_without_ties,
  s_c_without_ties,
  s_g_without_ties
FROM parts
