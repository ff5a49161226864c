{% from 'macros/answer.sql' import tokenize_13a, words %}
{#- Corpus BLEU (Papineni et al. 2002) with mteval-v13a tokens, case-sensitive, no smoothing.
    Per instance: [matches_1..N, totals_1..N, hypothesis length, closest reference length], where
    matches_n counts hypothesis n-grams clipped by their largest count in any reference.
    Task score: 100 * BP * exp(mean_n ln(sum matches_n / sum totals_n)), BP = exp(1 - r / c)
    when c <= r; 0 when some order has no match. -#}
{% macro ngrams(t, n) -%}
{%- if n == 1 %}{{ t }}{% else %}LIST_TRANSFORM(RANGE(1, LEN({{ t }}) - {{ n - 2 }}), i -> ARRAY_TO_STRING({{ t }}[i:i + {{ n - 1 }}], ' ')){% endif -%}
{%- endmacro %}
{% macro prepare_refs(args, answer) -%}
LIST_TRANSFORM(i.ref_texts, r -> ARRAY_TO_STRING({{ tokenize_13a('r') }}, ' ')) AS ref_tokenized
{%- endmacro %}
{% macro prepare(o, args, answer) -%}
{{ tokenize_13a(o) }} AS hyp,
LIST_TRANSFORM(ref_tokenized, r -> {{ words('r') }}) AS refs
{%- endmacro %}
{% macro value(o, args, answer) %}CAST(NULL AS DOUBLE){% endmacro %}
{% macro stats(o, args, answer) -%}
{%- set n = args.max_order | int -%}
[
{%- for k in range(1, n + 1) %}
  CAST(COALESCE(LIST_SUM(LIST_TRANSFORM(LIST_DISTINCT({{ ngrams('hyp', k) }}), w -> LEAST(
    LEN(LIST_FILTER({{ ngrams('hyp', k) }}, x -> x = w)),
    LIST_MAX(LIST_TRANSFORM(refs, rt -> LEN(LIST_FILTER({{ ngrams('rt', k) }}, x -> x = w))))))), 0) AS DOUBLE),
{%- endfor %}
{%- for k in range(1, n + 1) %}
  CAST(GREATEST(LEN(hyp) - {{ k - 1 }}, 0) AS DOUBLE),
{%- endfor %}
  CAST(LEN(hyp) AS DOUBLE),
  CAST(LIST_SORT(LIST_TRANSFORM(refs, rt -> [ABS(LEN(rt) - LEN(hyp)), LEN(rt)]))[1][2] AS DOUBLE)
]
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
