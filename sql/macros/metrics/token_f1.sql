{% from 'macros/aggregates.sql' import order_free_mean %}
{% from 'macros/answer.sql' import normalize_answer, words, split_collapsed %}
{% from 'macros/metrics/accuracy.sql' import golds %}
{#- SQuAD 2.0 token F1 of the normalized answer against the best reference; mean over
    instances. Tokens are the normalized text split at whitespace. An empty answer scores 1
    against an empty reference and 0 otherwise; references that normalize to the empty string
    are dropped unless all do (as for exact match). Reference tokens and their counts are
    prepared once per instance. -#}
{% macro prepare_ref(r, args, answer) %}{{ normalize_answer(r, answer) }}{% endmacro %}
{% macro prepare_refs(args, answer) -%}
LIST_TRANSFORM({{ golds(args, answer) }}, g -> {{ words('g', answer.collapse_whitespace) }}) AS ref_tokens,
LIST_TRANSFORM({{ golds(args, answer) }}, g -> LIST_TRANSFORM(LIST_FILTER(MAP_ENTRIES(LIST_AGGREGATE({{ words('g', answer.collapse_whitespace) }}, 'histogram')),
                                                          e -> e.value = 1), e -> e.key)) AS ref_once,
LIST_TRANSFORM({{ golds(args, answer) }}, g -> LIST_FILTER(MAP_ENTRIES(LIST_AGGREGATE({{ words('g', answer.collapse_whitespace) }}, 'histogram')),
                                           e -> e.value > 1)) AS ref_repeated,
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
{#- Per reference: the multiset overlap of the answer's tokens with the reference's (sum over
    the reference's distinct tokens of the smaller count), from the reference's tokens that occur
    once (``once``: 1 when the answer holds it) and those that repeat (``repeated``: entries of
    STRUCT(key, value), the token and its count), prepared once per instance. Looking the
    reference's tokens up in the answer's list costs a tenth of building the answer's histogram
    and reading the reference's map for each of its entries, as this did (the same numbers). An
    answer whose tokens are a reference's scores 1 (2n / (n + n), or an empty answer against an
    empty reference; no reference scores more) without any of it; one reference is scored
    without the list of per-reference scores (the same arithmetic). -#}
{% macro f1_against(g, once, repeated) -%}
CASE
  WHEN LEN(pred_tokens) = 0 OR {{ g }} = 0 THEN CAST(LEN(pred_tokens) = {{ g }} AS DOUBLE)
  ELSE 2.0 * (LEN(LIST_FILTER({{ once }}, w -> LIST_CONTAINS(pred_tokens, w)))
              + COALESCE(LIST_SUM(LIST_TRANSFORM({{ repeated }}, e -> LEAST(e.value, LEN(LIST_FILTER(pred_tokens, t -> t = e.key))))), 0))
       / (LEN(pred_tokens) + {{ g }})
END
{%- endmacro %}
{% macro value(o, args, answer) -%}
CASE
  WHEN LIST_CONTAINS(ref_tokens, pred_tokens) THEN 1.0
  WHEN LEN(ref_len) = 1 THEN {{ f1_against('ref_len[1]', 'ref_once[1]', 'ref_repeated[1]') }}
  ELSE LIST_MAX(LIST_TRANSFORM(ref_len, (g, k) -> {{ f1_against('g', 'ref_once[k]', 'ref_repeated[k]') }}))
END
{%- endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}100.0 * {{ order_free_mean('value') }}{% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['text'] %}
