{% from 'macros/aggregates.sql' import order_free_mean %}
{#- Scores of what an evaluator read from generated media: per instance STRUCT(hits DOUBLE,
    frames DOUBLE) of the labels seen per frame (or per event) against the reference labels (glc_frame_label_hits,
    compiler/udfs/readings.py). args.match: all (every reference label in the frame), any (one of
    them) or sequence (event k against reference event k); args.average: frames (hits / frames
    pooled over the task, as VBench) or instances (the mean of each instance's share);
    args.empty_frames: frames an empty reading counts (default 16). The answer is the evaluator's
    reading, never the file path: a task of these metrics is scored only with an evaluator.
    args.without_readings: none gives a task without any reading (its metric's evaluator not
    configured yet, or no generated file) no score rather than 0, as evaluator_score does. -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) -%}
glc_frame_label_hits({{ o }}, ref_texts, {{ args.match | sql_literal }}, {{ (args.get('empty_frames', 16)) | float }}) AS frame_hits
{%- endmacro %}
{% macro value(o, args, answer) -%}
CASE WHEN frame_hits IS NULL THEN NULL WHEN frame_hits.frames > 0 THEN frame_hits.hits / frame_hits.frames ELSE 0.0 END
{%- endmacro %}
{% macro stats(o, args, answer) %}frame_hits{% endmacro %}
{% macro payload(o, args, answer) -%}
{%- if args.get('without_readings') == 'none' -%}
CASE WHEN {{ o }} = '' THEN NULL ELSE 'read' END
{%- else -%}
CAST(NULL AS VARCHAR)
{%- endif -%}
{%- endmacro %}
{% macro aggregate(args) -%}
{%- if args.get('without_readings') == 'none' -%}CASE WHEN COUNT(payload) = 0 THEN NULL ELSE {% endif -%}
{%- if args.get('average', 'frames') == 'instances' -%}
100.0 * {{ order_free_mean('value') }}
{%- else -%}
{%- set hits, frames = 'SUM(stats.hits)', 'SUM(stats.frames)' -%}
100.0 * {{ hits }} / NULLIF({{ frames }}, 0)
{%- endif -%}
{%- if args.get('without_readings') == 'none' %} END{% endif -%}
{%- endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['label', 'labels', 'text'] %}
