{% from 'macros/aggregates.sql' import order_free_mean %}
{% from 'macros/answer.sql' import py_lower, py_collapse, py_upper_length %}
{#- ANLS (Biten et al. 2019) as the `anls` package computes it: both sides stripped, lower-cased
    and re-spaced with Python's str methods (' '.join(s.strip().lower().split())); NL = the
    Levenshtein distance (in characters) over the longer length after upper() (ß counts 2); per
    instance the best reference's 1 - NL when NL < args.threshold, else 0. -#}
{% macro anls_text(x) %}{{ py_collapse(py_lower(x)) }}{% endmacro %}
{% macro prepare_ref(r, args, answer) -%}
{'text': {{ anls_text(r) }}, 'length': {{ py_upper_length(anls_text(r)) }}}
{%- endmacro %}
{% macro prepare_refs(args, answer) %}p.ref_prepared AS ref_anls{% endmacro %}
{% macro prepare(o, args, answer) -%}
{{ anls_text(o) }} AS pred_anls,
{{ py_upper_length(anls_text(o)) }} AS pred_length
{%- endmacro %}
{% macro value(o, args, answer) -%}
LIST_MAX(LIST_TRANSFORM(
  LIST_TRANSFORM(ref_anls, g -> CAST(LEVENSHTEIN(pred_anls, g.text) AS DOUBLE)
                               / GREATEST(pred_length, g.length, 1)),
  nl -> CASE WHEN nl < {{ args.threshold | sql_literal }} THEN 1.0 - nl ELSE 0.0 END))
{%- endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}100.0 * {{ order_free_mean('value') }}{% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['text'] %}
