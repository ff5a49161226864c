{% import 'macros/metrics/' ~ metric.implementation.macro ~ '.sql' as impl %}
-- The reference side of metric {{ metric.name | sql_literal }}, prepared once per instance (and
-- rebuilt only when task data changes), so scoring a model only works on its own answers.
SELECT
  i.task_id,
  i.instance_id,
  i.ref_kind,
  i.ref_texts,
  i.ref_number,
  i.reference,
  {{ impl.prepare_refs(metric.implementation.args, metric.implementation.answer) }}
FROM instances AS i
JOIN tasks AS t
  ON t.task_id = i.task_id
WHERE
  t.metric = {{ metric.name | sql_literal }}
  -- Close Set instances (no reference) and references of a kind the metric cannot read are not scored
  AND i.ref_kind <> 'none'
  {%- if impl.references is defined %}
  AND i.ref_kind IN ({% for kind in impl.references %}{{ kind | sql_literal }}{{ ", " if not loop.last }}{% endfor %})
  {%- endif %}
