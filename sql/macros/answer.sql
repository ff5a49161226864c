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

{#- The option letter a multiple-choice answer gives, by the first rule that applies:
    1. the answer is a letter, alone or followed by ".", ")", ":" or ",": "B", "(b)", "A. cat";
    2. "answer is B" / "answer: B" (any case);
    3. a letter in parentheses anywhere: "I pick (C) here";
    4. a capital letter ending the answer: "I think it is B.";
    5. the first capital letter followed by ".", ")", ":" or ",".
    A bare "I" in prose is not taken for option I. -#}
{% macro choice_letter(x) -%}
UPPER(COALESCE(
  NULLIF(REGEXP_EXTRACT({{ x }}, '^\s*\(?([A-Za-z])(?:[\.\):,]|\)?\s*$)', 1), ''),
  NULLIF(REGEXP_EXTRACT({{ x }}, '(?i)answer\s*(?:is|:)?\s*\(?([A-Za-z])(?:[\.\):,]|\s|$)', 1), ''),
  NULLIF(REGEXP_EXTRACT({{ x }}, '\(([A-Za-z])\)', 1), ''),
  NULLIF(REGEXP_EXTRACT({{ x }}, '\b([A-Z])[\.\)]?\s*$', 1), ''),
  NULLIF(REGEXP_EXTRACT({{ x }}, '\b([A-Z])[\.\):,]', 1), '')
))
{%- endmacro %}

{#- The first number in a text (NULL when there is none). -#}
{% macro first_number(x) -%}
TRY_CAST(NULLIF(REGEXP_EXTRACT({{ x }}, '-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?', 0), '') AS DOUBLE)
{%- endmacro %}
