{% from 'macros/aggregates.sql' import order_free_mean %}
{#- PSNR (dB) or MS-SSIM (args.kind) of the predicted image file against the reference image,
    mean over instances (glc_psnr / glc_ms_ssim). -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) -%}
{%- if args.kind == 'psnr' %}glc_psnr({{ o }}, ref_texts[1]){% else %}glc_ms_ssim({{ o }}, ref_texts[1]){% endif -%}
{%- endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}{{ order_free_mean('value') }}{% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['image'] %}
