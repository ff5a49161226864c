{% from 'macros/answer.sql' import normalize_answer %}
{#- SQuAD token F1 of the normalized answer, best reference; mean over instances. -#}
{% macro value(o, args, answer) -%}
glc_token_f1({{ normalize_answer(o, answer) }}, LIST_TRANSFORM(ref_texts, r -> {{ normalize_answer('r', answer) }}))
{%- endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}100.0 * AVG(value){% endmacro %}
