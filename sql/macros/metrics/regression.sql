{% from 'macros/answer.sql' import first_number %}
{% from 'macros/aggregates.sql' import in_instance_order %}
{#- MAE, MSE, RMSE or Pearson correlation (args.kind) between the first number of the
    prediction and the reference number; a prediction without a number, or whose first number
    is not a finite double ("1e999"), counts as args.invalid_value. Pearson (glc_pearson:
    scipy.stats.pearsonr's computation) is reported in percent and is 0 where it is undefined
    (fewer than two instances, or either side constant). Computed over the values in instance-id
    order, so the score never depends on the order of the prediction records. Per instance, stats
    is STRUCT(predicted DOUBLE, reference DOUBLE). -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) %}CAST(NULL AS DOUBLE){% endmacro %}
{% macro stats(o, args, answer) -%}
{
  'predicted': CAST(COALESCE({{ first_number(o) }}, {{ args.get('invalid_value', 0.0) | sql_literal }}) AS DOUBLE),
  'reference': CAST(ref_number AS DOUBLE)
}
{%- endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) -%}
{%- set predicted, reference = 'stats.predicted', 'stats.reference' -%}
{%- set error = predicted ~ ' - ' ~ reference -%}
{%- if args.kind == 'mae' -%} LIST_AVG({{ in_instance_order('ABS(' ~ error ~ ')') }})
{%- elif args.kind == 'mse' -%} LIST_AVG({{ in_instance_order('(' ~ error ~ ') * (' ~ error ~ ')') }})
{%- elif args.kind == 'rmse' -%} SQRT(LIST_AVG({{ in_instance_order('(' ~ error ~ ') * (' ~ error ~ ')') }}))
{%- else -%} 100.0 * glc_pearson({{ in_instance_order(predicted) }}, {{ in_instance_order(reference) }})
{%- endif -%}
{%- endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['number'] %}
