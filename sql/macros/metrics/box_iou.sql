{% from 'macros/aggregates.sql' import order_free_mean %}
{#- Mean IoU of the first predicted box with the first reference box (visual grounding), in
    percent; predictions are read in the task's prediction_box_format. An instance whose
    reference has no box scores 1 when the answer has none either, else 0 (glc_box_iou). -#}
{% macro prepare_refs(args, answer) %}t.prediction_box_format AS pred_box_format{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) %}glc_box_iou({{ o }}, reference, pred_box_format){% endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}100.0 * {{ order_free_mean('value') }}{% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['boxes'] %}
