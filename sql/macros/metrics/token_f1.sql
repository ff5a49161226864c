{% from 'macros/answer.sql' import normalize_answer, words, common, overlap_f1 %}
{#- SQuAD token F1 of the normalized answer against the best reference; mean over instances.
    An empty answer scores 1 against an empty reference and 0 otherwise (SQuAD 2.0). -#}
{% macro prepare_refs(args, answer) -%}
LIST_TRANSFORM(i.ref_texts, r -> {{ normalize_answer('r', answer) }}) AS ref_norm
{%- endmacro %}
{% macro prepare(o, args, answer) -%}
{{ words(normalize_answer(o, answer)) }} AS pred_tokens,
LIST_TRANSFORM(ref_norm, r -> {{ words('r') }}) AS ref_tokens
{%- endmacro %}
{% macro value(o, args, answer) -%}
LIST_MAX(LIST_TRANSFORM(ref_tokens, g -> CASE
  WHEN LEN(pred_tokens) = 0 OR LEN(g) = 0 THEN CAST(LEN(pred_tokens) = LEN(g) AS DOUBLE)
  ELSE {{ overlap_f1(common('pred_tokens', 'g'), 'pred_tokens', 'g') }}
END))
{%- endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}100.0 * AVG(value){% endmacro %}
