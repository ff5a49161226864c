{{ config(materialized='view') }}
-- What each won task adds to its group's S (s_c, s_g or s_l of level_scores__<variant>) under
-- level variant {{ variant.name | sql_literal }} (group_by: {{ variant.group_by }}): its sigma
-- divided by the number of tasks of its group in its part (M, N or T within the part), and by the
-- number of parts holding that group, over which level_scores__<variant> averages S
{%- if variant.group_by == 'modality' %}
-- (the modalities of the scope with tasks of the group).
{%- else %}
-- (one part, 'all': sigma / M, N or T of the whole scope).
{%- endif %}
WITH groups AS (
  SELECT
    model,
    scope,
    part,
    task_group,
    n_tasks,
    COUNT(*) OVER (PARTITION BY model, scope, task_group) AS n_parts
  FROM {{ ('group_scores__' ~ variant.name) | ident }}
)
SELECT
  w.model,
  st.scope,
  w.task_id,
  g.part,
  w.task_group,
  w.sigma / g.n_tasks / g.n_parts AS contribution
FROM {{ ('task_wins__' ~ variant.name) | ident }} AS w
JOIN scope_tasks AS st
  ON st.task_id = w.task_id
JOIN groups AS g
  ON g.model = w.model
  AND g.scope = st.scope
{%- if variant.group_by == 'modality' %}
  AND g.part = w.modality
{%- else %}
  AND g.part = 'all'
{%- endif %}
  AND g.task_group = w.task_group
WHERE
  w.win
