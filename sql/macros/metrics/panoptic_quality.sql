{% from 'macros/aggregates.sql' import order_free_sum %}
{#- Panoptic quality (Kirillov et al. 2019), class-agnostic, pooled over the task: per instance
    [sum of matched IoUs, TP, FP, FN] of its segment masks (glc_pq_stats: a segment is one label
    of the PNG, label 0 void); PQ = sum IoU / (TP + FP / 2 + FN / 2). An instance's own value is
    its own PQ. -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}glc_pq_stats({{ o }}, ref_texts[1]) AS pq{% endmacro %}
{#- PQ of the named fields (SQL expressions) of a stats list: an instance's, or their task sums. -#}
{% macro pq_of(iou_sum, tp, fp, fn) %}{{ iou_sum }} / NULLIF({{ tp }} + 0.5 * {{ fp }} + 0.5 * {{ fn }}, 0){% endmacro %}
{% macro value(o, args, answer) %}{{ pq_of(iou_sum='pq[1]', tp='pq[2]', fp='pq[3]', fn='pq[4]') }}{% endmacro %}
{% macro stats(o, args, answer) %}pq{% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) -%}
COALESCE(100.0 * {{ pq_of(iou_sum=order_free_sum('stats[1]'), tp='SUM(stats[2])', fp='SUM(stats[3])', fn='SUM(stats[4])') }}, 0.0)
{%- endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['image'] %}
