{% from 'macros/aggregates.sql' import order_free_mean %}
{% from 'macros/answer.sql' import normalize_answer, choice_text, choice_letter, first_number %}
{#- Exact match. Choice references compare the extracted option letter; number references the
    first number; others the normalized answer against every normalized reference, as SQuAD
    2.0's evaluation does: references that normalize to the empty string are dropped unless all
    do (then the reference is the empty string, which an empty answer matches). -#}
{% macro prepare_ref(r, args, answer) %}{{ normalize_answer(r, answer) }}{% endmacro %}
{#- The normalized references that count (from prepare_ref: p.ref_prepared). -#}
{% macro golds(args, answer) -%}
COALESCE(NULLIF(LIST_FILTER(p.ref_prepared, n -> n <> ''), CAST([] AS VARCHAR[])), [''])
{%- endmacro %}
{#- The letter of the option whose text the answer is (normalized), when the instance lists its
    options (ref_texts: the letter, then the option texts); NULL otherwise, and for an answer that
    normalizes to nothing (empty, missing, an article: options "A" or "-" normalize to nothing too). The normalized option
    texts (ref_options) are prepared once per instance with the references: normalizing them in
    a list lambda here put six more Unicode-class regular expressions into every scoring
    statement, whose compilation (at binding and again for each thread that runs it, whether or
    not any instance is a choice) was most of the time a one-model accuracy build took. -#}
{% macro option_letter(o, answer) -%}
CASE WHEN answer_norm <> '' THEN CHR(64 + NULLIF(LIST_POSITION(ref_options, answer_norm), 0)) END
{%- endmacro %}
{#- ref_options: ref_prepared (every reference text normalized, in order) without the first,
    the letter: LIST_TRANSFORM(ref_texts[2:], normalize_answer), for choice instances only. -#}
{% macro prepare_refs(args, answer) -%}
{{ golds(args, answer) }} AS ref_norm,
CASE WHEN i.ref_kind = 'choice' THEN p.ref_prepared[2:] END AS ref_options
{%- endmacro %}
{#- The normalized answer (answer_norm), computed once in its own column for both the option
    text of a choice and the references of a text: written in both places, every scoring statement
    held its Unicode-class regular expressions twice, each compiled at binding and again for each
    thread, which was most of what a one-model accuracy build took. Number references read the
    first number of the raw answer and need none. -#}
{% macro prepare(o, args, answer) -%}
CASE WHEN ref_kind <> 'number' THEN {{ normalize_answer(o, answer) }} END AS answer_norm,
CASE WHEN ref_kind = 'choice' THEN {{ choice_text(o) }} END AS choice_text
{%- endmacro %}
{% macro value(o, args, answer) -%}
CASE
  WHEN ref_kind = 'choice' THEN CAST(COALESCE({{ choice_letter('choice_text', option_letter(o, answer)) }} = ref_texts[1], FALSE) AS DOUBLE)
  WHEN ref_kind = 'number' THEN CAST(COALESCE({{ first_number(o) }} = ref_number, FALSE) AS DOUBLE)
  ELSE CAST(LIST_CONTAINS(ref_norm, answer_norm) AS DOUBLE)
END
{%- endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}100.0 * {{ order_free_mean('value') }}{% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['text', 'choice', 'label', 'number'] %}
