{#- ANLS (Biten et al. 2019): per instance the best reference's 1 - NL when the normalized
    Levenshtein distance NL (case-folded, trimmed, characters) is below args.threshold, else 0. -#}
{% macro nl(a, b) -%}
CAST(LEVENSHTEIN(LOWER(TRIM({{ a }})), LOWER(TRIM({{ b }}))) AS DOUBLE)
  / GREATEST(LENGTH(LOWER(TRIM({{ a }}))), LENGTH(LOWER(TRIM({{ b }}))), 1)
{%- endmacro %}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) -%}
LIST_MAX(LIST_TRANSFORM(ref_texts, r -> CASE WHEN {{ nl(o, 'r') }} < {{ args.threshold | sql_literal }} THEN 1.0 - {{ nl(o, 'r') }} ELSE 0.0 END))
{%- endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}100.0 * AVG(value){% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['text'] %}
