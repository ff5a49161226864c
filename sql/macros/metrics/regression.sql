{% from 'macros/answer.sql' import first_number %}
{#- MAE, MSE, RMSE or Pearson correlation (args.kind) between the first number of the
    prediction and the reference number; a prediction without a number counts as
    args.invalid_value. Pearson is reported in percent and is 0 when undefined. -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) %}CAST(NULL AS DOUBLE){% endmacro %}
{% macro stats(o, args, answer) -%}
[COALESCE({{ first_number(o) }}, {{ args.get('invalid_value', 0.0) | sql_literal }}), ref_number]
{%- endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) -%}
{%- if args.kind == 'mae' -%} AVG(ABS(stats[1] - stats[2]))
{%- elif args.kind == 'mse' -%} AVG((stats[1] - stats[2]) * (stats[1] - stats[2]))
{%- elif args.kind == 'rmse' -%} SQRT(AVG((stats[1] - stats[2]) * (stats[1] - stats[2])))
{%- else -%} COALESCE(100.0 * CASE WHEN ISNAN(CORR(stats[1], stats[2])) THEN NULL ELSE CORR(stats[1], stats[2]) END, 0.0)
{%- endif -%}
{%- endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['number'] %}
