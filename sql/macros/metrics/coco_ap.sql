{#- COCO-style average precision over the whole task at args.iou_thresholds (glc_coco_ap). -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) %}CAST(NULL AS DOUBLE){% endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(TO_JSON({'pred': {{ o }}, 'ref': reference}) AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}100.0 * glc_coco_ap(LIST(payload), CAST({{ args.iou_thresholds | sql_literal }} AS DOUBLE[])){% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['boxes'] %}
