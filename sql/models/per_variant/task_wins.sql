{{ config(materialized='view') }}
-- Wins against the specialist SoTA under level variant {{ variant.name | sql_literal }}:
-- win rule {{ variant.win }}. An unsupported task, or one without a SoTA yet, is never a win;
-- tie marks a result equal to the SoTA (under 'at_least' such a win rests on the tie alone);
-- shortfall says by how many sigma points a lost task falls short of the SoTA.
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
{%- set win = 'COALESCE(vs_sota > 0, FALSE)' %}
{%- else %}
{%- set win = 'COALESCE(vs_sota >= 0, FALSE)' %}
{%- endif %}
  {{ win }} AS win,
  COALESCE(vs_sota = 0, FALSE) AS tie,
  CASE
    WHEN supported AND has_sota AND NOT {{ win }} THEN sigma_sota - sigma -- lost to the SoTA
  END AS shortfall,
  n_instances,
  n_scored,
  complete,
  source
FROM task_results
