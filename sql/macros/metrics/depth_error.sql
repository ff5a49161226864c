{% from 'macros/aggregates.sql' import exact_mean %}
{#- Depth error (args.kind absrel or rms) of a depth map image or a depth video against the
    reference, over pixels with a reference depth, mean over instances (glc_depth_error). -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) %}glc_depth_error({{ o }}, ref_texts[1], ref_kind, {{ args.kind | sql_literal }}){% endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}{{ exact_mean('value') }}{% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['image', 'video'] %}
