{#- Corpus BLEU (Papineni et al.) with mteval-v13a tokens, case-sensitive, no smoothing:
    100 * BP * exp(mean_n log(matches_n / totals_n)), BP = exp(1 - r / c) when c <= r; 0 when any
    n-gram order has no match. Statistics per instance come from glc_bleu_stats. -#}
{% macro value(o, args, answer) %}CAST(NULL AS DOUBLE){% endmacro %}
{% macro stats(o, args, answer) -%}
glc_bleu_stats({{ o }}, ref_texts, {{ args.max_order | int }})
{%- endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) -%}
{%- set n = args.max_order | int -%}
CASE
  WHEN SUM(stats[{{ 2 * n + 1 }}]) = 0 {% for k in range(1, n + 1) %}OR SUM(stats[{{ k }}]) = 0 {% endfor %}THEN 0.0
  ELSE 100.0 * (CASE WHEN SUM(stats[{{ 2 * n + 1 }}]) > SUM(stats[{{ 2 * n + 2 }}]) THEN 1.0
                     ELSE EXP(1 - SUM(stats[{{ 2 * n + 2 }}]) / SUM(stats[{{ 2 * n + 1 }}])) END)
       * EXP(({% for k in range(1, n + 1) %}LN(SUM(stats[{{ k }}]) / SUM(stats[{{ n + k }}])){% if not loop.last %} + {% endif %}{% endfor %}) / {{ n }})
END
{%- endmacro %}
