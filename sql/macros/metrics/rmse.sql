{% from 'macros/answer.sql' import first_number %}
{% from 'macros/aggregates.sql' import in_instance_order %}
{#- Root mean squared error, by the kind of the reference:
    number: over the task, the first number of the answer (args.invalid_value when it has none)
      against the reference number, as the regression macro computes it (stats:
      STRUCT(predicted DOUBLE, reference DOUBLE));
    image: per image, the RMS difference in CIE L*a*b* over pixels and channels (glc_lab_rmse),
      mean over images. -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) -%}
CASE WHEN ref_kind = 'image' THEN glc_lab_rmse({{ o }}, ref_texts[1]) END
{%- endmacro %}
{% macro stats(o, args, answer) -%}
CASE WHEN ref_kind = 'number' THEN {
  'predicted': CAST(COALESCE({{ first_number(o) }}, {{ args.get('invalid_value', 0.0) | sql_literal }}) AS DOUBLE),
  'reference': CAST(ref_number AS DOUBLE)
} END
{%- endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) -%}
{%- set predicted, reference = 'stats.predicted', 'stats.reference' -%}
{#- in instance-id order, so the record order of a prediction file cannot move the last bits -#}
CASE WHEN COUNT(stats) > 0 THEN SQRT(LIST_AVG({{ in_instance_order('(' ~ predicted ~ ' - ' ~ reference ~ ') * (' ~ predicted ~ ' - ' ~ reference ~ ')') }}))
     ELSE LIST_AVG({{ in_instance_order('value') }}) END
{%- endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['number', 'image'] %}
