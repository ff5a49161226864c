{#- COCO average precision over the whole task at args.iou_thresholds (glc_coco_ap: pycocotools'
    COCOeval for boxes, area "all", 100 detections per image). Each instance is an image; the
    payload carries its id, which fixes the order of tied scores (instance id, then position in
    the answer), so the value never depends on the order of the prediction records. -#}
{% macro prepare_refs(args, answer) %}t.prediction_box_format AS pred_box_format{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) %}CAST(NULL AS DOUBLE){% endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) -%}
CAST(TO_JSON({'id': instance_id, 'pred': {{ o }}, 'ref': reference, 'fmt': pred_box_format}) AS VARCHAR)
{%- endmacro %}
{% macro aggregate(args) %}100.0 * glc_coco_ap(LIST(payload), CAST({{ args.iou_thresholds | sql_literal }} AS DOUBLE[])){% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['boxes'] %}
