{{ config(materialized='incremental', partition_by=['model', 'task_id']) }}
-- One score per (model, task) from its instance scores, aggregated by the metric's macro.
-- Incremental like the instance scores it reads (partitioned the same way, so it reads only
-- their stale partitions): one more model aggregates only its own rows, a changed metric only
-- the tasks that use it.
{%- for m in metrics if m.implementation %}
{%- import 'macros/metrics/' ~ m.implementation.macro ~ '.sql' as impl %}
SELECT
  model,
  task_id,
  {{ impl.aggregate(m.implementation.args) }} AS score,
  COUNT(*) AS n_instances,
  COUNT_IF(scored) AS n_scored
FROM {{ ('instance_scores__' ~ m.name) | ident }}
GROUP BY
  model,
  task_id
UNION ALL
{%- endfor %}
SELECT
  CAST(NULL AS VARCHAR) AS model,
  CAST(NULL AS VARCHAR) AS task_id,
  CAST(NULL AS DOUBLE) AS score,
  CAST(NULL AS BIGINT) AS n_instances,
  CAST(NULL AS BIGINT) AS n_scored
WHERE
  FALSE
