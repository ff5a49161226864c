{#- ROUGE-1 or ROUGE-L (args.kind) F1, best reference, mean over instances (glc_rouge_f). -#}
{% macro value(o, args, answer) -%}
glc_rouge_f({{ o }}, ref_texts, {{ args.kind | sql_literal }})
{%- endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}100.0 * AVG(value){% endmacro %}
