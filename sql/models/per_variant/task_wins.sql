{{ config(materialized='view') }}
-- Wins against the specialist SoTA under level variant {{ variant.name | sql_literal }}:
-- win rule {{ variant.win }}. An unsupported task is never a win. A view: a projection of
-- task_results that costs less to compute where it is read than to store.
SELECT
  model,
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
  vs_sota,
{%- if variant.win == 'strictly_better' %}
  COALESCE(vs_sota > 0, FALSE) AS win
{%- else %}
  COALESCE(vs_sota >= 0, FALSE) AS win
{%- endif %},
  source
FROM task_results
