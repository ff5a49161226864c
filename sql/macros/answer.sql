{#- Answer normalization declared by a metric spec (`implementation.answer`), applied in the
    SQuAD order: lower-case, drop ASCII punctuation, drop articles, collapse whitespace. -#}
{% macro normalize_answer(x, answer) -%}
{%- set e = x -%}
{%- if answer.lowercase %}{% set e = 'LOWER(' ~ e ~ ')' %}{% endif -%}
{%- if answer.strip_punctuation %}{% set e = "REGEXP_REPLACE(" ~ e ~ ", '[!-/:-@\\[-`{-~]', '', 'g')" %}{% endif -%}
{%- if answer.remove_articles %}{% set e = "REGEXP_REPLACE(" ~ e ~ ", '\\b(a|an|the)\\b', ' ', 'g')" %}{% endif -%}
{%- if answer.collapse_whitespace %}{% set e = "TRIM(REGEXP_REPLACE(" ~ e ~ ", '\\s+', ' ', 'g'))" %}{% endif -%}
{{ e }}
{%- endmacro %}

{#- The option letter a multiple-choice answer gives: the whole answer as a letter ("B",
    "(B)", "B. the cat"), else "answer is B" / "answer: B", else the first standalone capital. -#}
{% macro choice_letter(x) -%}
UPPER(COALESCE(
  NULLIF(REGEXP_EXTRACT({{ x }}, '^\s*\(?([A-Za-z])\)?([\.\):,]|\s|$)', 1), ''),
  NULLIF(REGEXP_EXTRACT({{ x }}, '(?i)answer\s*(?:is|:)?\s*\(?([A-Za-z])\)?([\.\):,]|\s|$)', 1), ''),
  NULLIF(REGEXP_EXTRACT({{ x }}, '\b([A-Z])\b', 1), '')
))
{%- endmacro %}

{#- The first number in a text (NULL when there is none). -#}
{% macro first_number(x) -%}
TRY_CAST(NULLIF(REGEXP_EXTRACT({{ x }}, '-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?', 0), '') AS DOUBLE)
{%- endmacro %}
