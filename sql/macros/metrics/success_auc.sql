{% from 'macros/aggregates.sql' import order_free_mean %}
{#- Area under a curve, by the kind of the reference:
    boxes (a track, one box per frame): the area under the OTB/LaSOT success plot, the mean over
      IoU thresholds 0, 0.05, ..., 1 of the fraction of frames whose IoU exceeds the threshold
      (glc_success_auc), mean over videos;
    image (a mask; the prediction a probability map image): the pixel ROC AUC of the map's values
      for the mask's foreground (glc_roc_auc), mean over images with both classes. -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) -%}
CASE ref_kind WHEN 'boxes' THEN glc_success_auc({{ o }}, reference) ELSE glc_roc_auc({{ o }}, ref_texts[1]) END
{%- endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}100.0 * {{ order_free_mean('value') }}{% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['boxes', 'image'] %}
