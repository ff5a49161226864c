{% import 'macros/metrics/' ~ metric.implementation.macro ~ '.sql' as impl %}
{%- set args = metric.implementation.args %}
{%- set answer = metric.implementation.answer %}
{%- set per_reference = impl.prepare_ref is defined %}
-- The reference side of metric {{ metric.name | sql_literal }}, prepared once per instance (and
-- rebuilt only when task data changes), so scoring a model only works on its own answers.
{%- if per_reference %}
-- Each reference text is prepared on its own row (prepare_ref) and collected in order as
-- ref_prepared: a regular expression inside a list lambda is compiled again for every list,
-- which made normalizing references several times slower.
WITH per_reference AS (
  SELECT
    u.task_id,
    u.instance_id,
    LIST({{ impl.prepare_ref('u.r', args, answer) }} ORDER BY u.k) AS ref_prepared
  FROM (
    SELECT
      i.task_id,
      i.instance_id,
      UNNEST(i.ref_texts) AS r,
      UNNEST(RANGE(1, LEN(i.ref_texts) + 1)) AS k
    FROM instances AS i
    JOIN tasks AS t
      ON t.task_id = i.task_id
    WHERE
      t.metric = {{ metric.name | sql_literal }}
  ) AS u
  GROUP BY
    u.task_id,
    u.instance_id
)
{%- endif %}
SELECT
  i.task_id,
  i.instance_id,
  i.ref_kind,
  i.ref_texts,
  i.ref_number,
  i.reference,
  {{ impl.prepare_refs(args, answer) }}
FROM instances AS i
JOIN tasks AS t
  ON t.task_id = i.task_id
{%- if per_reference %}
LEFT JOIN per_reference AS p
  ON p.task_id = i.task_id AND p.instance_id = i.instance_id
{%- endif %}
WHERE
  t.metric = {{ metric.name | sql_literal }}
  -- Close Set instances (no reference) and references of a kind the metric cannot read are not scored
  AND i.ref_kind <> 'none'
  {%- if metric.implementation.evaluator %}
  -- the metric scores an evaluator's reading of the generated media: tasks without an evaluator are not scored
  AND t.judged
  {%- endif %}
  {%- if impl.references is defined %}
  AND i.ref_kind IN ({% for kind in impl.references %}{{ kind | sql_literal }}{{ ", " if not loop.last }}{% endfor %})
  {%- endif %}
