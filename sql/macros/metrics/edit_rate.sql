{% from 'macros/answer.sql' import normalize_answer %}
{#- WER or CER (args.unit word or char), corpus level: 100 * total edits / total reference
    length, with jiwer's default normalization (whitespace collapsed and stripped). A metric
    that declares lower-casing or punctuation removal (implementation.answer) applies it to both
    sides first, as speech-recognition evaluations usually do. -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) %}CAST(NULL AS DOUBLE){% endmacro %}
{% macro stats(o, args, answer) -%}
{%- if answer.lowercase or answer.strip_punctuation or answer.remove_articles -%}
glc_edit_stats({{ normalize_answer(o, answer) }}, {{ normalize_answer('ref_texts[1]', answer) }}, {{ args.unit | sql_literal }})
{%- else -%}
glc_edit_stats({{ o }}, ref_texts[1], {{ args.unit | sql_literal }})
{%- endif -%}
{%- endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}COALESCE(100.0 * SUM(stats[1]) / NULLIF(SUM(stats[2]), 0), 0.0){% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['text'] %}
