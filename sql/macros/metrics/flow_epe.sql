{% from 'macros/aggregates.sql' import exact_mean %}
{#- Optical-flow end-point error of a flow map image or flow video (u = R - 128, v = G - 128),
    mean over pixels per instance, then over instances (glc_epe). -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) %}glc_epe({{ o }}, ref_texts[1], ref_kind){% endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}{{ exact_mean('value') }}{% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['image', 'video'] %}
