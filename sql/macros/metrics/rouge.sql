{% from 'macros/aggregates.sql' import order_free_mean %}
{% from 'macros/answer.sql' import rouge_text, rouge_tokens, words, common, overlap_f1 %}
{#- ROUGE-1 (unigram overlap) or ROUGE-L (longest common subsequence, glc_rouge_l) F1 against
    the best reference, mean over instances; args.kind is rouge1 or rougeL. -#}
{% macro prepare_ref(r, args, answer) %}{{ rouge_text(r) }}{% endmacro %}
{% macro prepare_refs(args, answer) %}p.ref_prepared AS ref_joined{% endmacro %}
{% macro prepare(o, args, answer) -%}
{%- if args.kind == 'rouge1' -%}
{{ rouge_tokens(o) }} AS pred_tokens,
LIST_TRANSFORM(ref_joined, r -> {{ words('r') }}) AS ref_tokens
{%- else -%}
{{ rouge_text(o) }} AS pred_text
{%- endif %}
{%- endmacro %}
{% macro value(o, args, answer) -%}
{%- if args.kind == 'rouge1' -%}
LIST_MAX(LIST_TRANSFORM(ref_tokens, g -> {{ overlap_f1(common('pred_tokens', 'g'), 'pred_tokens', 'g') }}))
{%- else -%}
{#- an answer equal to a reference scores 1 without the Python call (the UDF would say the same) -#}
CASE WHEN pred_text <> '' AND LIST_CONTAINS(ref_joined, pred_text) THEN 1.0 ELSE glc_rouge_l(pred_text, ref_joined) END
{%- endif -%}
{%- endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}100.0 * {{ order_free_mean('value') }}{% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['text'] %}
