{% from 'macros/aggregates.sql' import order_free_sum %}
{#- Panoptic quality (Kirillov et al. 2019), class-agnostic, pooled over the task: per instance
    STRUCT(iou_sum, true_positives, false_positives, false_negatives) of its segment masks, all
    DOUBLE (glc_pq_stats: a segment is one label
    of the PNG, label 0 void); PQ = sum IoU / (TP + FP / 2 + FN / 2). An instance's own value is
    its own PQ. -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}glc_pq_stats({{ o }}, ref_texts[1]) AS pq{% endmacro %}
{#- PQ of the fields (SQL expressions) of a stats STRUCT: an instance's, or their task sums. -#}
{% macro pq_of(iou_sum, tp, fp, fn) %}{{ iou_sum }} / NULLIF({{ tp }} + 0.5 * {{ fp }} + 0.5 * {{ fn }}, 0){% endmacro %}
{% macro value(o, args, answer) %}{{ pq_of(iou_sum='pq.iou_sum', tp='pq.true_positives', fp='pq.false_positives', fn='pq.false_negatives') }}{% endmacro %}
{% macro stats(o, args, answer) %}pq{% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) -%}
COALESCE(100.0 * {{ pq_of(iou_sum=order_free_sum('stats.iou_sum'), tp='SUM(stats.true_positives)',
                  fp='SUM(stats.false_positives)', fn='SUM(stats.false_negatives)') }}, 0.0)
{%- endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['image'] %}
