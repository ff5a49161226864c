{% from 'macros/aggregates.sql' import order_free_mean %}
{#- Pixel fidelity of a generated image or video (frame k against frame k) to the reference,
    mean over instances; args.kind:
    psnr: PSNR in dB (glc_psnr for images; glc_video_psnr, the mean per-frame PSNR, for videos);
    l1: 100 * (1 - mean absolute pixel difference / 255) (glc_l1_score). -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) -%}
{%- if args.kind == 'psnr' -%}
CASE ref_kind WHEN 'video' THEN glc_video_psnr({{ o }}, ref_texts[1]) ELSE glc_psnr({{ o }}, ref_texts[1]) END
{%- else -%}
100.0 * glc_l1_score({{ o }}, ref_texts[1], ref_kind)
{%- endif -%}
{%- endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}{{ order_free_mean('value') }}{% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['image', 'video'] %}
