{% from 'macros/aggregates.sql' import order_free_mean %}
{#- Mean IoU, by the kind of the reference:
    boxes: IoU of the first predicted box (in the task's prediction_box_format) with the first
      reference box, mean over instances (glc_box_iou, as the box_iou macro: visual grounding);
    image (label-mask PNG) and pointcloud (PLY with a label per point): semantic-segmentation
      mIoU pooled over the task: per label of the references, summed intersections over summed
      unions of all instances, then the mean over those labels (stats: glc_mask_label_counts /
      glc_point_label_counts, a list of STRUCT(label, intersection, predicted, reference), all
      DOUBLE, one per label in label order; glc_pooled_miou). An instance's own value is its mIoU
      over its reference's labels;
    video (binary mask video): region similarity J, the mean per-frame foreground IoU of each
      video (glc_video_mask_iou), mean over videos. -#}
{% macro prepare_refs(args, answer) %}t.prediction_box_format AS pred_box_format{% endmacro %}
{% macro prepare(o, args, answer) -%}
CASE ref_kind
  WHEN 'image' THEN glc_mask_label_counts({{ o }}, ref_texts[1])
  WHEN 'pointcloud' THEN glc_point_label_counts({{ o }}, ref_texts[1])
END AS label_counts
{%- endmacro %}
{% macro value(o, args, answer) -%}
CASE ref_kind
  WHEN 'boxes' THEN glc_box_iou({{ o }}, reference, pred_box_format)
  WHEN 'video' THEN glc_video_mask_iou({{ o }}, ref_texts[1])
  ELSE LIST_AVG(LIST_TRANSFORM(LIST_FILTER(label_counts, c -> c.reference > 0),
                               c -> c.intersection / (c.predicted + c.reference - c.intersection)))
END
{%- endmacro %}
{% macro stats(o, args, answer) %}label_counts{% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) -%}
CASE WHEN COUNT(stats) > 0 THEN 100.0 * glc_pooled_miou(LIST(stats)) ELSE 100.0 * {{ order_free_mean('value') }} END
{%- endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['boxes', 'image', 'video', 'pointcloud'] %}
