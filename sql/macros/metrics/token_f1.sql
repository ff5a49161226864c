{% from 'macros/answer.sql' import normalize_answer, words, hist_overlap, histogram_columns %}
{#- SQuAD token F1 of the normalized answer against the best reference; mean over instances.
    An empty answer scores 1 against an empty reference and 0 otherwise (SQuAD 2.0). Reference
    token histograms are prepared once per instance; the answer's once per answer. -#}
{% macro prepare_refs(args, answer) -%}
LIST_TRANSFORM(i.ref_texts, r -> {{ normalize_answer('r', answer) }}) AS ref_norm,
LIST_TRANSFORM(i.ref_texts, r -> LIST_AGGREGATE({{ words(normalize_answer('r', answer)) }}, 'histogram')) AS ref_hist,
LIST_TRANSFORM(i.ref_texts, r -> LEN({{ words(normalize_answer('r', answer)) }})) AS ref_len
{%- endmacro %}
{% macro prepare(o, args, answer) -%}
{{ words(normalize_answer(o, answer)) }} AS pred_tokens,
{{ histogram_columns(words(normalize_answer(o, answer)), 'pred') }}
{%- endmacro %}
{% macro value(o, args, answer) -%}
LIST_MAX(LIST_TRANSFORM(ref_len, (g, k) -> CASE
  WHEN LEN(pred_tokens) = 0 OR g = 0 THEN CAST(LEN(pred_tokens) = g AS DOUBLE)
  ELSE 2.0 * {{ hist_overlap('pred_keys', 'pred_counts', 'ref_hist[k]') }} / (LEN(pred_tokens) + g)
END))
{%- endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}100.0 * AVG(value){% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['text'] %}
