{% from 'macros/aggregates.sql' import order_free_mean %}
{#- Instance mIoU of 3D part segmentation (PointNet): per shape, the mean over the part labels of
    the reference or predicted PLY of the part IoU (glc_part_miou), then the mean over shapes. -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) %}glc_part_miou({{ o }}, ref_texts[1]){% endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}100.0 * {{ order_free_mean('value') }}{% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['pointcloud'] %}
