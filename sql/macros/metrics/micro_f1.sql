{% from 'macros/answer.sql' import normalize_answer %}
{#- Micro F1 over label sets: the prediction is split on `args.separator`; per instance
    [true positives, false positives, false negatives]; F1 = 2 TP / (2 TP + FP + FN). -#}
{% macro predicted(o, args, answer) -%}
LIST_FILTER(LIST_DISTINCT(LIST_TRANSFORM(STRING_SPLIT({{ o }}, {{ args.get('separator', ',') | sql_literal }}), x -> {{ normalize_answer('x', answer) }})), x -> x <> '')
{%- endmacro %}
{% macro gold(args, answer) -%}
LIST_FILTER(LIST_DISTINCT(LIST_TRANSFORM(ref_texts, x -> {{ normalize_answer('x', answer) }})), x -> x <> '')
{%- endmacro %}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) %}CAST(NULL AS DOUBLE){% endmacro %}
{% macro stats(o, args, answer) -%}
[
  CAST(LEN(LIST_INTERSECT({{ predicted(o, args, answer) }}, {{ gold(args, answer) }})) AS DOUBLE),
  CAST(LEN({{ predicted(o, args, answer) }}) - LEN(LIST_INTERSECT({{ predicted(o, args, answer) }}, {{ gold(args, answer) }})) AS DOUBLE),
  CAST(LEN({{ gold(args, answer) }}) - LEN(LIST_INTERSECT({{ predicted(o, args, answer) }}, {{ gold(args, answer) }})) AS DOUBLE)
]
{%- endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) -%}
COALESCE(100.0 * 2 * SUM(stats[1]) / NULLIF(2 * SUM(stats[1]) + SUM(stats[2]) + SUM(stats[3]), 0), 0.0)
{%- endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['labels', 'label'] %}
