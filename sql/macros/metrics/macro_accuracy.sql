{% from 'macros/answer.sql' import normalize_answer, choice_text, choice_letter %}
{% from 'macros/metrics/accuracy.sql' import option_letter %}
{#- Macro accuracy (balanced accuracy): accuracy within each reference class, averaged over the
    classes present in the references. A choice reference's class is its letter, and the answer
    counts when its option letter (read as accuracy reads it) is that letter: the option texts
    beside the letter are no references of their own. -#}
{% macro prepare_ref(r, args, answer) %}{{ normalize_answer(r, answer) }}{% endmacro %}
{% macro prepare_refs(args, answer) -%}
p.ref_prepared AS ref_norm,
CASE WHEN i.ref_kind = 'choice' THEN p.ref_prepared[2:] END AS ref_options
{%- endmacro %}
{% macro prepare(o, args, answer) -%}
{{ normalize_answer(o, answer) }} AS answer_norm,
CASE WHEN ref_kind = 'choice' THEN {{ choice_text(o) }} END AS choice_text
{%- endmacro %}
{% macro value(o, args, answer) -%}
CASE
  WHEN ref_kind = 'choice' THEN CAST(COALESCE({{ choice_letter('choice_text', option_letter(o, answer)) }} = ref_texts[1], FALSE) AS DOUBLE)
  ELSE CAST(LIST_CONTAINS(ref_norm, answer_norm) AS DOUBLE)
END
{%- endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CASE WHEN ref_kind = 'choice' THEN ref_texts[1] ELSE ref_norm[1] END{% endmacro %}
{% macro aggregate(args) %}100.0 * glc_group_mean(LIST(payload), LIST(value)){% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['label', 'choice', 'text'] %}
