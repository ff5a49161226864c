{% from 'macros/answer.sql' import normalize_answer %}
{#- WER or CER (args.unit word or char), corpus level, as jiwer computes them with its default
    transforms (glc_edit_stats, per instance STRUCT(edits DOUBLE, ref_len DOUBLE)): 100 * total
    edits / total length of the first references.
    Words: runs of two or more Python whitespace characters become one space, both ends are
    stripped, words are split at the space character only (a lone tab or no-break space joins
    two words). Characters: both ends stripped, every character counts, spaces included. When
    the references hold no word (character) at all the rate is 100 * the inserted words
    (jiwer's "number of insertions"). A metric that declares lower-casing or punctuation removal
    (implementation.answer) applies it to both sides first, as speech-recognition evaluations
    usually do. -#}
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
{% macro aggregate(args) -%}
{%- set edits, ref_len = 'SUM(stats.edits)', 'SUM(stats.ref_len)' -%}
CASE WHEN {{ ref_len }} = 0 THEN 100.0 * COALESCE({{ edits }}, 0) ELSE 100.0 * {{ edits }} / {{ ref_len }} END
{%- endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['text'] %}
