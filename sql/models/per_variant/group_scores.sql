-- Group aggregates under level variant {{ variant.name | sql_literal }} (partition: {{ variant.partition }}).
-- Denominators are the number of benchmark tasks of the group in the scope, supported or
-- not: mean_sigma = sum(sigma) / n_tasks; s = sum(sigma of won tasks) / n_tasks.
SELECT
  w.model,
  st.scope,
{%- if variant.partition == 'modality' %}
  w.modality AS part,
{%- else %}
  'all' AS part,
{%- endif %}
  w.task_group,
  COUNT(*) AS n_tasks,
  COUNT_IF(w.supported) AS n_supported,
  COUNT_IF(w.win) AS n_wins,
  SUM(w.sigma) / COUNT(*) AS mean_sigma,
  SUM(CASE WHEN w.win THEN w.sigma ELSE 0.0 END) / COUNT(*) AS s
FROM {{ ('task_wins__' ~ variant.name) | ident }} AS w
JOIN scope_tasks AS st
  ON st.task_id = w.task_id
GROUP BY
  w.model,
  st.scope,
  part,
  w.task_group
