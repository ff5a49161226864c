{% from 'macros/aggregates.sql' import order_free_mean %}
{% from 'macros/answer.sql' import normalize_answer, words, split_collapsed %}
{% from 'macros/metrics/accuracy.sql' import golds %}
{#- SQuAD 2.0 token F1 of the normalized answer against the best reference; mean over
    instances. Tokens are the normalized text split at whitespace. An empty answer scores 1
    against an empty reference and 0 otherwise; references that normalize to the empty string
    are dropped unless all do (as for exact match). Reference tokens and their histograms are
    prepared once per instance. -#}
{% macro prepare_ref(r, args, answer) %}{{ normalize_answer(r, answer) }}{% endmacro %}
{% macro prepare_refs(args, answer) -%}
LIST_TRANSFORM({{ golds(args, answer) }}, g -> {{ words('g', answer.collapse_whitespace) }}) AS ref_tokens,
LIST_TRANSFORM({{ golds(args, answer) }}, g -> LIST_AGGREGATE({{ words('g', answer.collapse_whitespace) }}, 'histogram')) AS ref_hist,
LIST_TRANSFORM({{ golds(args, answer) }}, g -> LEN({{ words('g', answer.collapse_whitespace) }})) AS ref_len
{%- endmacro %}
{#- One column: the answer's tokens, its normalization computed once (DuckDB computes each
    column of a projection on its own, so every further column made from the normalized text
    would normalize it again). -#}
{% macro prepare(o, args, answer) -%}
{%- if answer.collapse_whitespace -%}
{{ split_collapsed(normalize_answer(o, answer)) }} AS pred_tokens
{%- else -%}
{{ words(normalize_answer(o, answer), False) }} AS pred_tokens
{%- endif %}
{%- endmacro %}
{#- Per reference: the multiset overlap of the answer's token histogram with the reference's
    (sum over the answer's distinct tokens of the smaller count). An answer whose tokens are a
    reference's scores 1 (2n / (n + n), or an empty answer against an empty reference; no
    reference scores more) without the histograms, which cost most; one reference is scored
    without the list of per-reference scores (the same arithmetic). -#}
{% macro f1_against(g, hist) -%}
CASE
  WHEN LEN(pred_tokens) = 0 OR {{ g }} = 0 THEN CAST(LEN(pred_tokens) = {{ g }} AS DOUBLE)
  ELSE 2.0 * COALESCE(LIST_SUM(LIST_TRANSFORM(MAP_ENTRIES(LIST_AGGREGATE(pred_tokens, 'histogram')),
                                              e -> LEAST(e.value, COALESCE({{ hist }}[e.key], 0)))), 0)
       / (LEN(pred_tokens) + {{ g }})
END
{%- endmacro %}
{% macro value(o, args, answer) -%}
CASE
  WHEN LIST_CONTAINS(ref_tokens, pred_tokens) THEN 1.0
  WHEN LEN(ref_len) = 1 THEN {{ f1_against('ref_len[1]', 'ref_hist[1]') }}
  ELSE LIST_MAX(LIST_TRANSFORM(ref_len, (g, k) -> {{ f1_against('g', 'ref_hist[k]') }}))
END
{%- endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}100.0 * {{ order_free_mean('value') }}{% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['text'] %}
