{% from 'macros/aggregates.sql' import order_free_mean %}
{% from 'macros/answer.sql' import normalize_answer %}
{#- Recall@K of a ranked label list (scene-graph R@K): the answer lists labels best first, as a
    JSON list of strings or split on args.separator; of its first args.k distinct (normalized,
    non-empty) labels, the fraction of the distinct reference labels found, mean over instances.
    Instances without reference labels are left out of the mean. -#}
{% macro ranked(o, args, answer) -%}
LIST_TRANSFORM(
  COALESCE(TRY(CAST(json({{ o }}) AS VARCHAR[])), STRING_SPLIT({{ o }}, {{ args.get('separator', ',') | sql_literal }})),
  x -> {{ normalize_answer('x', answer) }})
{%- endmacro %}
{#- gold is sorted: LIST_DISTINCT lists the labels in its hash table's order, which no other engine
    (nor another DuckDB version) reproduces. -#}
{% macro prepare_refs(args, answer) -%}
LIST_SORT(LIST_FILTER(LIST_DISTINCT(LIST_TRANSFORM(i.ref_texts, x -> {{ normalize_answer('x', answer) }})), x -> x <> '')) AS gold
{%- endmacro %}
{% macro prepare(o, args, answer) -%}
LIST_FILTER({{ ranked(o, args, answer) }}, x -> x <> '') AS ranked_labels
{%- endmacro %}
{% macro value(o, args, answer) -%}
CASE WHEN LEN(gold) = 0 THEN NULL ELSE
  CAST(LEN(LIST_INTERSECT(
    LIST_FILTER(ranked_labels, (x, i) -> LIST_POSITION(ranked_labels, x) = i)[1:{{ args.k | int }}], gold)) AS DOUBLE)
  / LEN(gold)
END
{%- endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}COALESCE(100.0 * {{ order_free_mean('value') }}, 0.0){% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['labels', 'label'] %}
