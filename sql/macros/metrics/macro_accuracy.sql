{% from 'macros/answer.sql' import normalize_answer %}
{#- Macro accuracy (balanced accuracy): accuracy within each reference class, averaged over the
    classes present in the references. -#}
{% macro prepare_ref(r, args, answer) %}{{ normalize_answer(r, answer) }}{% endmacro %}
{% macro prepare_refs(args, answer) %}p.ref_prepared AS ref_norm{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) -%}
CAST(LIST_CONTAINS(ref_norm, {{ normalize_answer(o, answer) }}) AS DOUBLE)
{%- endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}ref_norm[1]{% endmacro %}
{% macro aggregate(args) %}100.0 * glc_group_mean(LIST(payload), LIST(value)){% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['label', 'choice', 'text'] %}
