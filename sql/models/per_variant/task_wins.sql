{{ config(materialized='view') }}
-- Wins against the specialist SoTA under level variant {{ variant.name | sql_literal }}:
-- win rule {{ variant.win }}. An unsupported task, or one without a SoTA yet, is never a win;
-- tie marks a result equal to the SoTA (under 'at_least' such a win rests on the tie alone).
-- A view: a projection of task_results that costs less to compute where it is read than to store.
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
  has_sota,
  vs_sota,
{%- if variant.win == 'strictly_better' %}
  COALESCE(vs_sota > 0, FALSE) AS win,
{%- else %}
  COALESCE(vs_sota >= 0, FALSE) AS win,
{%- endif %}
  COALESCE(vs_sota = 0, FALSE) AS tie,
  n_instances,
  n_scored,
  complete,
  source
FROM task_results
